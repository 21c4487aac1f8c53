// Commit an awkward tree in every repository mode, check it out, and compare.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { ht, htOk, requireRoot, sh } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { buildAwkwardTree, describeTree, BIG_FILE_SIZE, LONG_NAME } from './helpers/awkward-tree.js';

const MODES = ['bare-user', 'bare', 'archive'] as const;

describe('awkward tree round trip', () => {
  const s = scratch();
  const src = join(s.dir, 'src');
  beforeAll(() => {
    requireRoot('the awkward tree has files owned by other users and security.capability');
    buildAwkwardTree(src);
  });
  afterAll(() => s.cleanup());

  for (const mode of MODES) {
    it(`keeps content, modes, owners, xattrs and link targets in ${mode}`, () => {
      const repo = join(s.dir, `repo-${mode}`);
      htOk(['--repo', repo, 'init', '--mode', mode]);
      const csum = htOk(['--repo', repo, 'commit', '-b', 'test', '-s', 'awkward', src]).trim();
      expect(csum).toMatch(/^[0-9a-f]{64}$/);
      const co = join(s.dir, `co-${mode}`);
      htOk(['--repo', repo, 'checkout', 'test', co]);
      const want = describeTree(src);
      const got = describeTree(co);
      expect(got).toEqual(want);
      expect(got['big.bin']!.size).toBe(BIG_FILE_SIZE);
      expect(got[LONG_NAME]).toBeDefined();
      expect(got['setuid']!.mode).toBe(0o4755);
      expect(got['capable']!.xattrs['security.capability']).toBe('0100000200040000000000000000000000000000');
      // The same tree gives the same commit in every mode.
      expect(htOk(['--repo', repo, 'fsck']).trim()).toMatch(/: ok$/);
    });
  }

  it('gives the same checksums in every mode', () => {
    const trees = MODES.map((m) => htOk(['--repo', join(s.dir, `repo-${m}`), 'show', '--json', 'test']));
    const roots = trees.map((t) => JSON.parse(t).rootTree);
    expect(new Set(roots).size).toBe(1);
  });

  it('checks out in user mode with hardlinks and no setuid bits', () => {
    const repo = join(s.dir, 'repo-bare-user');
    const co = join(s.dir, 'co-user');
    htOk(['--repo', repo, 'checkout', '-U', 'test', co]);
    expect(fs.statSync(join(co, 'hello.txt')).nlink).toBeGreaterThan(1);
    expect(fs.statSync(join(co, 'setuid')).mode & 0o7777).toBe(0o755);
    expect(fs.readlinkSync(join(co, 'dir-link'))).toBe('sticky');
    expect(fs.readFileSync(join(co, 'big.bin')).length).toBe(BIG_FILE_SIZE);
  });

  it('checks out a subpath', () => {
    const repo = join(s.dir, 'repo-archive');
    const co = join(s.dir, 'co-sub');
    htOk(['--repo', repo, 'checkout', '--subpath', '/private', 'test', co]);
    expect(describeTree(co)).toEqual(Object.fromEntries(Object.entries(describeTree(join(src, 'private')))));
  });

  it('re-commits an unchanged tree to the same root, reading nothing again', async () => {
    // A commit trusts no stat of a file changed in the 2 s before it (a change in the same tick
    // would go unseen): wait until the tree is older than that, as a tree being re-committed is.
    // (This test flaked when the tests before it took less than 2 s.)
    const newest = fs.readdirSync(src, { recursive: true, withFileTypes: true })
      .map((e) => fs.lstatSync(join(e.parentPath, e.name)).ctimeMs).reduce((a, b) => Math.max(a, b), fs.lstatSync(src).ctimeMs);
    await new Promise((r) => setTimeout(r, Math.max(0, newest + 2100 - Date.now())));
    const repo = join(s.dir, 'repo-bare-user');
    const first = JSON.parse(htOk(['--repo', repo, 'commit', '--json', '-b', 'again', src]));
    const second = JSON.parse(htOk(['--repo', repo, 'commit', '--json', '-b', 'again', src]));
    const [a, b] = [first, second].map((r) => JSON.parse(htOk(['--repo', repo, 'show', '--json', r.checksum])));
    expect(b.rootTree).toBe(a.rootTree);
    expect(b.parent).toBe(first.checksum);
    expect(second.objectsWritten).toBe(1); // only the new commit object
    expect(second.statCacheHits).toBeGreaterThan(0);
  });

  it('commits a tree named through a symlink as the directory it names', () => {
    const repo = join(s.dir, 'repo-bare-user');
    const link = join(s.dir, 'src-link');
    fs.symlinkSync(src, link);
    const direct = JSON.parse(htOk(['--repo', repo, 'show', '--json', 'test']));
    const viaLink = JSON.parse(htOk(['--repo', repo, 'show', '--json', htOk(['--repo', repo, 'commit', '-b', 'linked', link]).trim()]));
    expect([viaLink.rootTree, viaLink.rootMeta]).toEqual([direct.rootTree, direct.rootMeta]);
    expect(htOk(['--repo', repo, 'fsck']).trim()).toMatch(/: ok$/);
  });

  it('notices a change of content or metadata after a commit', () => {
    const repo = join(s.dir, 'repo-bare-user');
    const t2 = join(s.dir, 'src2');
    sh('cp', ['-a', src, t2]); // keeps hardlinks
    const c1 = htOk(['--repo', repo, 'commit', '-b', 'edit', t2]).trim();
    htOk(['--repo', repo, 'commit', '-b', 'edit', t2]);
    fs.chmodSync(join(t2, 'hello.txt'), 0o600);
    fs.appendFileSync(join(t2, 'empty'), 'now full');
    const c3 = htOk(['--repo', repo, 'commit', '-b', 'edit', t2]).trim();
    const d = htOk(['--repo', repo, 'diff', c1, c3]).trim().split('\n').sort();
    expect(d).toEqual(['M    /empty', 'M    /hardlink-to-hello', 'M    /hello.txt']);
    expect(htOk(['--repo', repo, 'cat', 'edit', '/empty'])).toBe('now full');
  });

  it('refuses device nodes with a clear error, or leaves them out when asked', () => {
    const repo = join(s.dir, 'repo-bare-user');
    const t3 = join(s.dir, 'src-dev');
    fs.mkdirSync(t3);
    fs.writeFileSync(join(t3, 'ok'), 'ok');
    htOk(['--repo', repo, 'commit', '-b', 'dev', t3]);
    const before = htOk(['--repo', repo, 'rev-parse', 'dev']);
    sh('mknod', [join(t3, 'null'), 'c', '1', '3']);
    const r = ht(['--repo', repo, 'commit', '-b', 'dev', t3]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/character device cannot be stored.*--skip-special/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(htOk(['--repo', repo, 'rev-parse', 'dev'])).toBe(before);
    const r2 = ht(['--repo', repo, 'commit', '--skip-special', '-b', 'dev', t3]);
    expect(r2.code).toBe(0);
    expect(r2.stderr).toMatch(/left out 1 special file/);
    expect(htOk(['--repo', repo, 'ls', 'dev']).trim().split('\n')).toHaveLength(2);
  });
});
