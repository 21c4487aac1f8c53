// fsck finds and names damage: a flipped byte, a truncated dirtree, a missing object.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { ht, htOk } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

function objectPath(repo: string, csum: string, ext: string): string {
  return join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`);
}

describe('fsck', () => {
  const s = scratch();
  const src = join(s.dir, 'src');
  beforeAll(() => {
    fs.mkdirSync(join(src, 'sub'), { recursive: true });
    fs.writeFileSync(join(src, 'a.txt'), 'alpha\n');
    fs.writeFileSync(join(src, 'b.txt'), 'bravo\n');
    fs.writeFileSync(join(src, 'sub', 'c.txt'), 'charlie\n');
  });
  afterAll(() => s.cleanup());

  function fresh(name: string, mode = 'bare-user'): { repo: string; commit: string } {
    const repo = join(s.dir, name);
    htOk(['--repo', repo, 'init', '--mode', mode]);
    const commit = htOk(['--repo', repo, 'commit', '-b', 'main', src]).trim();
    return { repo, commit };
  }
  const entry = (repo: string, path: string) => JSON.parse(htOk(['--repo', repo, 'ls', '--json', 'main', path]))[0];

  for (const mode of ['bare-user', 'archive']) {
    it(`names a content object with a flipped byte (${mode})`, () => {
      const { repo } = fresh(`flip-${mode}`, mode);
      const { checksum } = entry(repo, '/a.txt');
      const p = objectPath(repo, checksum, mode === 'archive' ? 'filez' : 'file');
      const b = fs.readFileSync(p);
      b[b.length - 2] ^= 0x20;
      fs.chmodSync(p, 0o644);
      fs.writeFileSync(p, b);
      const r = ht(['--repo', repo, 'fsck']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`corrupt file object ${checksum}`);
      const j = JSON.parse(ht(['--repo', repo, 'fsck', '--json']).stdout);
      expect(j.ok).toBe(false);
      expect(j.problems).toHaveLength(1);
      expect(j.problems[0]).toMatchObject({ kind: 'corrupt', type: 'file', checksum });
    });
  }

  it('names a truncated dirtree', () => {
    const { repo } = fresh('trunc');
    const { tree } = entry(repo, '/sub');
    const p = objectPath(repo, tree, 'dirtree');
    const b = fs.readFileSync(p);
    fs.writeFileSync(p, b.subarray(0, b.length - 5));
    const r = ht(['--repo', repo, 'fsck']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`corrupt dirtree object ${tree}`);
    expect(r.stderr).toMatch(/^hacktree: fsck found \d+ problem/);
  });

  it('names a missing object with the path that needs it', () => {
    const { repo, commit } = fresh('missing');
    const { checksum } = entry(repo, '/sub/c.txt');
    fs.unlinkSync(objectPath(repo, checksum, 'file'));
    const r = ht(['--repo', repo, 'fsck']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`missing file object ${checksum} (/sub/c.txt in commit ${commit})`);
  });

  it('reports a corrupt object on read instead of serving it', () => {
    const { repo } = fresh('cat');
    const { checksum } = entry(repo, '/b.txt');
    const p = objectPath(repo, checksum, 'file');
    fs.chmodSync(p, 0o644);
    fs.writeFileSync(p, 'bravX\n');
    const r = ht(['--repo', repo, 'cat', 'main', '/b.txt']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`hacktree: corrupt file object ${checksum}: checksum mismatch`);
  });

  it('prune keeps what refs need and removes the rest', () => {
    const { repo, commit } = fresh('prune');
    fs.writeFileSync(join(s.dir, 'other'), 'x');
    const other = join(s.dir, 'othersrc');
    fs.mkdirSync(other);
    fs.writeFileSync(join(other, 'only-here'), 'unique content\n');
    htOk(['--repo', repo, 'commit', '-b', 'tmp', other]);
    htOk(['--repo', repo, 'refs', '--delete', 'tmp']);
    expect(htOk(['--repo', repo, 'prune', '--refs-only'])).toMatch(/^deleted [1-9]\d* of/);
    expect(htOk(['--repo', repo, 'fsck'])).toMatch(/: ok$/m);
    expect(htOk(['--repo', repo, 'rev-parse', 'main']).trim()).toBe(commit);
    expect(htOk(['--repo', repo, 'prune', '--refs-only'])).toMatch(/^deleted 0 of/);
    expect(htOk(['--repo', repo, 'cat', 'main', '/a.txt'])).toBe('alpha\n');
  });

  it('prune --depth drops old history but keeps the head', () => {
    const { repo } = fresh('depth');
    fs.writeFileSync(join(src, 'a.txt'), 'alpha 2\n');
    const c2 = htOk(['--repo', repo, 'commit', '-b', 'main', src]).trim();
    fs.writeFileSync(join(src, 'a.txt'), 'alpha\n');
    htOk(['--repo', repo, 'prune', '--depth', '0']);
    expect(JSON.parse(htOk(['--repo', repo, 'log', '--json', 'main']))).toHaveLength(1);
    expect(htOk(['--repo', repo, 'rev-parse', 'main']).trim()).toBe(c2);
    expect(htOk(['--repo', repo, 'fsck'])).toMatch(/: ok$/m);
  });

  it('reindex rebuilds the index by content from the objects', () => {
    const { repo } = fresh('reindex');
    fs.rmSync(join(repo, 'hacktree', 'index.db'));
    fs.rmSync(join(repo, 'hacktree', 'index.db-wal'), { force: true });
    fs.rmSync(join(repo, 'hacktree', 'index.db-shm'), { force: true });
    const r = JSON.parse(htOk(['--repo', repo, 'reindex', '--json']));
    expect(r.indexed).toBe(3);
    expect(r.skipped).toEqual([]);
  });
});
