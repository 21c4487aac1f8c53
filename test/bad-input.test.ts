// User mistakes and hostile conditions give one clear line and a non-zero exit,
// and never leave a half-written object or ref behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ht, htAsync, htOk, requireRoot, sh, HACKTREE } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

function expectOneLineError(r: { code: number; stdout: string; stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('bad input', () => {
  const s = scratch();
  const repo = join(s.dir, 'repo');
  const src = join(s.dir, 'src');
  beforeAll(() => {
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, 'f'), 'f\n');
    htOk(['--repo', repo, 'init']);
    htOk(['--repo', repo, 'commit', '-b', 'main', src]);
  });
  afterAll(() => s.cleanup());

  it('a missing repository', () => {
    expectOneLineError(ht(['--repo', join(s.dir, 'nope'), 'log', 'main']), 1, /no hacktree\/ostree repository at .*nope: does not exist/);
  });

  it('a directory that is no repository', () => {
    expectOneLineError(ht(['--repo', src, 'refs']), 1, /no hacktree\/ostree repository at .*src: no config file/);
  });

  it('an unknown ref, prefix, parent and path', () => {
    expectOneLineError(ht(['--repo', repo, 'log', 'nosuch']), 1, /unknown revision 'nosuch'/);
    expectOneLineError(ht(['--repo', repo, 'show', 'main^']), 1, /unknown revision 'main\^': commit \w+ has no parent/);
    expectOneLineError(ht(['--repo', repo, 'ls', 'main', '/missing']), 1, /\/missing: no such file or directory/);
  });

  it('failures at run time exit 1, not 2 (the code of a usage mistake), as ostree and git do', () => {
    expectOneLineError(ht(['--repo', repo, 'checkout', 'main', src]), 1, /already exists/);
    expectOneLineError(ht(['--repo', repo, 'cat', 'main', '/']), 1, /^hacktree: \/ is a directory$/);
    expectOneLineError(ht(['--repo', repo, 'summary']), 1, /only -u \(update\) is supported/);
  });

  it('with --json, the one error line is JSON: a code and the message', () => {
    const json = (r: { code: number; stderr: string }) => ({ code: r.code, lines: r.stderr.trim().split('\n').map((l) => JSON.parse(l)) });
    expect(json(ht(['--repo', repo, 'log', '--json', 'nosuch']))).toEqual(
      { code: 1, lines: [{ error: { code: 'UNKNOWN_REV', message: "unknown revision 'nosuch': no such ref, commit or prefix" } }] });
    expect(json(ht(['--repo', repo, 'ls', '--json', '--bogus', 'main']))).toEqual(
      { code: 2, lines: [{ error: { code: 'USAGE', message: "unknown option '--bogus'" } }] });
  });

  it('usage mistakes exit 2', () => {
    expectOneLineError(ht(['--repo', repo, 'commit', src]), 2, /required option '-b, --branch/);
    expectOneLineError(ht(['--repo', repo, 'frobnicate']), 2, /unknown command 'frobnicate'/);
    expectOneLineError(ht(['--repo', repo, 'init', '--mode', 'zip']), 2, /--mode must be one of/);
    expectOneLineError(ht(['--repo', repo, 'commit', '-b', '../evil', src]), 2, /invalid ref name/);
  });

  it('a source that does not exist or is not a directory', () => {
    expectOneLineError(ht(['--repo', repo, 'commit', '-b', 'main', join(s.dir, 'nothing')]), 1, /cannot commit .*nothing: no such directory/);
    expectOneLineError(ht(['--repo', repo, 'commit', '-b', 'main', join(src, 'f')]), 1, /not a directory/);
  });

  it('a source that cannot be read leaves the repo as it was', () => {
    requireRoot('drops to nobody to make a directory unreadable');
    const base = join(s.dir, 'nobody');
    fs.mkdirSync(base);
    fs.chownSync(base, 65534, 65534);
    const nrepo = join(base, 'repo');
    const nsrc = join(base, 'src');
    fs.chmodSync(s.dir, 0o755);
    const asNobody = (args: string[]) => {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', HACKTREE, ...args], { encoding: 'utf8' });
      return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
    };
    expect(asNobody(['--repo', nrepo, 'init']).code).toBe(0);
    fs.mkdirSync(join(nsrc, 'locked'), { recursive: true });
    fs.writeFileSync(join(nsrc, 'locked', 'secret'), 's');
    fs.chownSync(nsrc, 65534, 65534);
    fs.chmodSync(join(nsrc, 'locked'), 0o700); // owned by root: nobody cannot read it
    const r = asNobody(['--repo', nrepo, 'commit', '-b', 'main', nsrc]);
    expectOneLineError(r, 1, /commit failed: permission denied.*locked/);
    expect(fs.readdirSync(join(nrepo, 'refs', 'heads'))).toEqual([]);
    expect(fs.readdirSync(join(nrepo, 'tmp')).filter((n) => n.startsWith('staging-'))).toEqual([]);
    expect(asNobody(['--repo', nrepo, 'fsck']).code).toBe(0);
  });

  it('a disk that fills up mid-commit: clear error, refs unchanged, fsck passes', () => {
    requireRoot('mounts a small tmpfs');
    const mnt = join(s.dir, 'small');
    fs.mkdirSync(mnt);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    try {
      const small = join(mnt, 'repo');
      htOk(['--repo', small, 'init']);
      const c1 = htOk(['--repo', small, 'commit', '-b', 'main', src]).trim();
      const big = join(s.dir, 'big');
      fs.mkdirSync(big);
      for (let i = 0; i < 8; i++) fs.writeFileSync(join(big, `blob${i}`), randomBytes(512 * 1024));
      const r = ht(['--repo', small, 'commit', '-b', 'main', big]);
      expectOneLineError(r, 1, /commit failed: no space left on device/);
      expect(htOk(['--repo', small, 'rev-parse', 'main']).trim()).toBe(c1);
      expect(htOk(['--repo', small, 'fsck'])).toMatch(/: ok$/m);
      expect(sh('ostree', [`--repo=${small}`, 'fsck'])).toMatch(/no errors found/);
      expect(fs.readdirSync(join(small, 'tmp')).filter((n) => n.startsWith('staging-'))).toEqual([]);
    } finally {
      sh('umount', [mnt]);
    }
  });

  it('two commits at once into one repo: both land, one after the other', async () => {
    const a = join(s.dir, 'ca'), b = join(s.dir, 'cb');
    for (const [d, n] of [[a, 'a'], [b, 'b']] as const) {
      fs.mkdirSync(d);
      for (let i = 0; i < 200; i++) fs.writeFileSync(join(d, `${n}${i}`), randomBytes(4096));
    }
    const [ra, rb] = await Promise.all([htAsync(['--repo', repo, 'commit', '-b', 'race', a]), htAsync(['--repo', repo, 'commit', '-b', 'race', b])]);
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    const log = JSON.parse(htOk(['--repo', repo, 'log', '--json', 'race']));
    expect(log).toHaveLength(2);
    expect(new Set(log.map((c: { checksum: string }) => c.checksum))).toEqual(new Set([ra.stdout.trim(), rb.stdout.trim()]));
    expect(htOk(['--repo', repo, 'fsck'])).toMatch(/: ok$/m);
  });
});
