// The writable layer against a disk file system: each scenario of
// helpers/posix-probe.py runs in a directory on the scratch file system (ext4 or
// tmpfs: the reference) and in a writable path of a mounted root, and every line
// it prints (errnos, modes, owners, link counts, which times moved) must be the
// same. What still differs, and why, is listed in KNOWN below; those lines are
// left out of the comparison, and the test fails once one of them agrees (so the
// list is kept true).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { requireRoot, requireTool, sh, ROOT } from './helpers/cli.js';
import { forceUnmount, requireFuse } from './helpers/mounts.js';
import { comparisonDirs, mountBusyboxRoot, requireDiskReference } from './helpers/busybox-root.js';

const { s, bb, sys, mnt, ref } = comparisonDirs('hacktree-posix-ext4-');
const PY = '/usr/bin/python3';
const PROBE = join(ROOT, 'test', 'helpers', 'posix-probe.py');

/** Files the commit has for the 'basefiles' scenario (name → mode), as posix-probe.py's BASE_FILES. */
const BASE_FILES: Record<string, number> = { c1: 0o644, c2: 0o4755, c3: 0o2755, c4: 0o644, c5: 0o644, c6: 0o600, c7: 0o644, c8: 0o644 };

/** Files the commit has for the 'baselinks' scenario: one content object is one inode of the commit. */
const BASE_LINKS: Record<string, string> = { k1: 'kkk\n', k2: 'kkk\n', k3: 'kkk\n', m1: 'mmm\n', m2: 'mmm\n' };

/** scenario → line label → why the root's mount still answers otherwise. */
const KNOWN: Record<string, Record<string, string>> = {
  ctime: {
    'chown -1 -1': 'the kernel sends FUSE no setattr at all for chown(-1, -1): ext4 moves ctime, nothing reaches the daemon',
  },
  chown: {
    'write by 1000 to 0o2767': "FUSE's kernel side drops setgid on write only with g+x (fuse_setattr), not by the VFS rule for callers outside the group",
    'truncate by 1000 of 0o2767': 'as for writes: the kernel asks FUSE to drop setgid only with g+x',
  },
  baselinks: {
    'link k4 to k1': "a commit's paths of one content object are one inode (as in an ostree checkout), but identical files are not links someone made: a copy-up (here for link()) gives the copied name an inode of its own rather than copying every name up and changing them all",
    'write through k2': 'as above: the written name leaves the inode, the others keep it and count one link less',
    'content of k1': 'as above',
  },
  misc: {
    'O_TMPFILE': "bookworm's libfuse 3.14 has no tmpfile op (EOPNOTSUPP: programs fall back to a named file)",
  },
};

function probe(scenario: string, dir: string): Map<string, string> {
  const r = spawnSync(PY, [PROBE, scenario, dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`posix-probe.py ${scenario} ${dir} failed (${r.status}): ${r.stderr}`);
  const lines = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const i = line.indexOf(': ');
    lines.set(line.slice(0, i), line.slice(i + 2));
  }
  return lines;
}

/** Runs `scenario` in fresh directories on both sides; returns both sets of answers. */
function both(scenario: string, prepare: (dir: string) => void = () => {}, inMount = `var/tmp/${scenario}`): { want: Map<string, string>; got: Map<string, string> } {
  const r = join(ref, scenario), m = join(mnt, inMount);
  fs.mkdirSync(r, { recursive: true });
  prepare(r);
  fs.mkdirSync(m, { recursive: true });
  // uid 1000 makes files in both.
  for (const d of [r, m]) fs.chmodSync(d, 0o777);
  return { want: probe(scenario, r), got: probe(scenario, m) };
}

function compare(scenario: string, r: { want: Map<string, string>; got: Map<string, string> }): void {
  const known = KNOWN[scenario] ?? {};
  const stopped = r.got.get('scenario stopped') ?? r.want.get('scenario stopped');
  expect(stopped, `${scenario} stopped early`).toBeUndefined();
  const pick = (m: Map<string, string>, keep: boolean): Record<string, string> =>
    Object.fromEntries([...m].filter(([k]) => (k in known) !== keep));
  expect(pick(r.got, true)).toEqual(pick(r.want, true));
  // A known difference that is gone: take it off the list.
  for (const label of Object.keys(known)) {
    expect(r.want.has(label), `${scenario}: '${label}' is not a line of the probe`).toBe(true);
    expect(r.got.get(label), `${scenario}: '${label}' agrees with ext4 now: take it off KNOWN`).not.toEqual(r.want.get(label));
  }
}

beforeAll(() => {
  requireRoot('mounts with allow_other, chowns and acts as uid 1000');
  requireFuse();
  requireTool('busybox', 'busybox-static');
  requireTool(PY, 'python3');
  fs.chmodSync(s.dir, 0o755); // uid 1000 must reach both sides
  requireDiskReference(s.dir);
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
  fs.mkdirSync(join(bb, 'data', 'bf'), { recursive: true });
  for (const [n, mode] of Object.entries(BASE_FILES)) {
    fs.writeFileSync(join(bb, 'data', 'bf', n), `content ${n}\n`);
    fs.chmodSync(join(bb, 'data', 'bf', n), mode);
  }
  fs.mkdirSync(join(bb, 'data', 'bl'));
  for (const [n, content] of Object.entries(BASE_LINKS)) fs.writeFileSync(join(bb, 'data', 'bl', n), content);
  fs.mkdirSync(join(bb, 'var', 'tmp'), { recursive: true });
  fs.mkdirSync(ref);
  mountBusyboxRoot(bb, sys, mnt, ['--writable', '/data/**']);
});

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe('the writable layer answers as ext4 does', () => {
  it('unix sockets (bind, connect, accept, datagrams, umask, mknod) and fifos', () => compare('sockets', both('sockets')));
  it('ctime and mtime: chmod, chown, link, unlink, rename, truncate, utimensat, xattrs, writes', () => compare('ctime', both('ctime')));
  it('chown: -1 arguments, setuid/setgid cleared on chown and writes, who may chown and chmod', () => compare('chown', both('chown')));
  it('rename: directories over directories, own subtree, two names of one inode, over linked files, sticky, renameat2', () => compare('rename', both('rename')));
  it('rmdir and unlink edge cases; nlink of open unlinked files', () => compare('remove', both('remove')));
  it('name and path limits', () => compare('limits', both('limits')));
  it('truncate and utimensat: permissions, UTIME_NOW/UTIME_OMIT, negative lengths', () => compare('truncate', both('truncate')));
  it('hard links made in the layer', () => compare('hardlinks', both('hardlinks')));
  it('xattrs (security.capability, trusted.*), shared writable mmap, POSIX locks and flock, O_TMPFILE, copy_file_range', () => compare('misc', both('misc')));
  it('sparse files, files over 4 GiB, SEEK_DATA/SEEK_HOLE, fallocate', () => compare('sparse', both('sparse')));
  it('writes: partial pages through O_WRONLY, O_APPEND from two descriptors, a write-only file, ftruncate between writes', () => compare('writes', both('writes')));
  it("the commit's files: metadata records and copy-up move ctime, setuid/setgid go as on ext4", () => {
    compare('basefiles', both('basefiles', (dir) => {
      for (const [n, mode] of Object.entries(BASE_FILES)) {
        fs.writeFileSync(join(dir, n), `content ${n}\n`);
        fs.chmodSync(join(dir, n), mode);
      }
    }, 'data/bf'));
  });
  it("the commit's hard links: link counts as names go; a copied-up name leaves the inode (see KNOWN)", () => {
    compare('baselinks', both('baselinks', (dir) => {
      fs.writeFileSync(join(dir, 'k1'), BASE_LINKS.k1!);
      fs.linkSync(join(dir, 'k1'), join(dir, 'k2'));
      fs.linkSync(join(dir, 'k1'), join(dir, 'k3'));
      fs.writeFileSync(join(dir, 'm1'), BASE_LINKS.m1!);
      fs.linkSync(join(dir, 'm1'), join(dir, 'm2'));
    }, 'data/bl'));
  });
});
