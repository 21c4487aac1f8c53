// A root mounted for real with its writable layer: full POSIX behaviour inside
// the writable set (/var, /home, /tmp, a `--writable /data/**` rule, the account
// files in /etc), EROFS outside it, and the layer surviving a remount and a
// killed daemon. The daemon is always the `hacktree` child process; this process
// only touches the mount (with sync calls, which is fine: it does not serve it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import xattr from '@napi-rs/xattr';
import { htOk, requireRoot, requireTool, sh, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, killDaemonAndWait, requireFuse } from './helpers/mounts.js';

const s = scratch('hacktree-posix-');
const bb = join(s.dir, 'bb');
const sys = join(s.dir, 'sys');
const mnt = join(s.dir, 'mnt');
const upper = join(sys, 'roots', 'r', 'layer', 'upper');
const m = (p: string): string => join(mnt, p);
const H = (args: string[]): string => htOk(['--sysroot', sys, ...args]);
const PY = '/usr/bin/python3';
const GiB = 1024 ** 3;

/** The errno name a sync call fails with (undefined when it succeeds). */
function codeOf(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return (e as NodeJS.ErrnoException).code ?? (e as Error).message; }
  return undefined;
}

/** Runs a python3 snippet (as root, or as another user), insisting on success; returns stdout. */
function py(src: string, args: string[] = [], as?: number): string {
  const cmd = as === undefined ? [PY, '-c', src, ...args] : ['setpriv', `--reuid=${as}`, `--regid=${as}`, '--clear-groups', PY, '-c', src, ...args];
  return sh(cmd[0]!, cmd.slice(1));
}

/** A python3 snippet that tries `op` (open-for-write / create / mkdir / unlink) on argv[2] and prints 'ok' or the errno name. */
const TRY = `
import os, sys, errno
op, p = sys.argv[1], sys.argv[2]
try:
    if op == 'append': os.close(os.open(p, os.O_WRONLY | os.O_APPEND))
    elif op == 'create': os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif op == 'mkdir': os.mkdir(p, 0o755)
    elif op == 'unlink': os.unlink(p)
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`;
const tryAs = (uid: number, op: string, p: string): string => py(TRY, [op, p], uid).trim();

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout as string, stderr: r.stderr as string };
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const names = (p: string): string[] => fs.readdirSync(p).sort();
const layerDiff = (): Array<{ change: string; path: string }> => JSON.parse(H(['layer', 'diff', 'r', '--json']));
const daemonPid = (): number => JSON.parse(htOk(['mounts', '--json'])).find((x: { mountpoint: string }) => x.mountpoint === mnt).pid;
const logFile = (): string => join('/run/hacktree/mounts', `${createHash('sha256').update(mnt).digest('hex').slice(0, 16)}.log`);
const mountRoot = (): void => { H(['root', 'mount', 'r', mnt]); };

beforeAll(() => {
  requireRoot('mounts with allow_other, chowns, mknods and switches to uid 1000');
  requireFuse();
  requireTool('busybox', 'busybox-static');
  requireTool('setfattr', 'attr');
  requireTool('getfattr', 'attr');
  requireTool(PY, 'python3');
  requireTool('flock', 'util-linux');
  requireTool('setpriv', 'util-linux');
  for (const t of ['mknod', 'touch', 'stat']) requireTool(t, 'coreutils');
  fs.chmodSync(s.dir, 0o755); // uid 1000 must reach the mount
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
  // What the base commit holds besides busybox: things to copy up, change, delete and shadow.
  const file = (rel: string, content: string, mode = 0o644, uid = 0, gid = 0): void => {
    fs.mkdirSync(join(bb, rel, '..'), { recursive: true });
    fs.writeFileSync(join(bb, rel), content);
    fs.chownSync(join(bb, rel), uid, gid);
    fs.chmodSync(join(bb, rel), mode);
  };
  fs.mkdirSync(join(bb, 'opt'));
  file('etc/other.conf', 'other\n');
  file('data/base.txt', 'base content\n', 0o640, 1234, 2345);
  xattr.setAttributeSync(join(bb, 'data/base.txt'), 'user.origin', Buffer.from('base'));
  file('data/meta.txt', 'meta\n');
  file('data/del.txt', 'old\n');
  file('data/times.txt', 'times\n');
  file('data/xattr.txt', 'x\n');
  xattr.setAttributeSync(join(bb, 'data/xattr.txt'), 'user.keep', Buffer.from('1'));
  file('data/chr-over.txt', 'will be a device\n');
  file('data/rename-me.txt', 'renamed base\n');
  file('data/full/a', 'a\n');
  file('data/full/b', 'b\n');
  file('data/full/sub/c', 'c\n');
  for (const [n, mode] of [['suid', 0o4755], ['sgid-x', 0o2755], ['sgid-nox', 0o2644], ['both', 0o6755]] as const) file(`data/chown-${n}`, n, mode);
  file('var/lib/base-file', 'in base\n');
  file('var/tmp/root-owned', 'root\n');
  file('home/alice/notes.txt', 'alice\n', 0o644, 1000, 1000);
  H(['init']);
  H(['commit', '-b', 'bb', bb]);
  H(['root', 'create', 'r', 'bb', '--writable', '/data/**']);
  fs.mkdirSync(mnt);
  mountRoot();
});

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe('inside the writable set', () => {
  it('create, write, read back (in /var/tmp, /home, /tmp and /data)', () => {
    for (const p of ['var/tmp/hello.txt', 'home/hello.txt', 'tmp/hello.txt', 'data/hello.txt']) {
      fs.writeFileSync(m(p), `hello ${p}\n`);
      expect(fs.readFileSync(m(p), 'utf8')).toBe(`hello ${p}\n`);
      expect(fs.statSync(m(p)).size).toBe(`hello ${p}\n`.length);
    }
    expect(names(m('data'))).toContain('hello.txt');
    expect(names(m('data'))).toContain('base.txt');
  });

  it("keeps a commit directory's inode number when the layer copies it up (tar -C DIR checks it)", () => {
    const before = fs.statSync(m('var/lib')).ino;
    fs.writeFileSync(m('var/lib/new-file'), 'x');
    expect(fs.existsSync(join(upper, 'var/lib'))).toBe(true);
    expect(fs.statSync(m('var/lib')).ino).toBe(before);
    const r = run('tar', ['-C', m('var/lib'), '-xf', '-'], { input: spawnSync('tar', ['-C', bb, '-cf', '-', 'etc'], { maxBuffer: 1 << 26 }).stdout });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('truncate grows with zeros and shrinks (by path and by fd)', () => {
    const p = m('var/tmp/trunc');
    fs.writeFileSync(p, 'abcdef');
    fs.truncateSync(p, 10);
    expect(fs.readFileSync(p)).toEqual(Buffer.from('abcdef\0\0\0\0'));
    fs.truncateSync(p, 3);
    expect(fs.readFileSync(p, 'utf8')).toBe('abc');
    const fd = fs.openSync(p, 'r+');
    try {
      fs.ftruncateSync(fd, 1);
      expect(fs.fstatSync(fd).size).toBe(1);
      fs.ftruncateSync(fd, 4);
    } finally { fs.closeSync(fd); }
    expect(fs.readFileSync(p)).toEqual(Buffer.from('a\0\0\0'));
    // O_TRUNC on open
    fs.writeFileSync(p, 'xy');
    expect(fs.readFileSync(p, 'utf8')).toBe('xy');
  });

  it('unlink', () => {
    const p = m('var/tmp/gone');
    fs.writeFileSync(p, 'x');
    fs.unlinkSync(p);
    expect(codeOf(() => fs.statSync(p))).toBe('ENOENT');
    expect(names(m('var/tmp'))).not.toContain('gone');
    expect(codeOf(() => fs.unlinkSync(p))).toBe('ENOENT');
  });

  it('rename: over an existing file, across directories, EXDEV out of the set, EROFS from outside', () => {
    fs.writeFileSync(m('var/tmp/r-src'), 'source');
    fs.writeFileSync(m('var/tmp/r-dst'), 'destination');
    fs.renameSync(m('var/tmp/r-src'), m('var/tmp/r-dst'));
    expect(fs.readFileSync(m('var/tmp/r-dst'), 'utf8')).toBe('source');
    expect(codeOf(() => fs.statSync(m('var/tmp/r-src')))).toBe('ENOENT');

    fs.renameSync(m('var/tmp/r-dst'), m('home/moved'));
    expect(fs.readFileSync(m('home/moved'), 'utf8')).toBe('source');
    fs.renameSync(m('home/moved'), m('data/moved'));
    expect(fs.readFileSync(m('data/moved'), 'utf8')).toBe('source');
    expect(names(m('home'))).not.toContain('moved');

    // A directory with contents, made in the layer, moves too.
    fs.mkdirSync(m('var/tmp/rdir/inner'), { recursive: true });
    fs.writeFileSync(m('var/tmp/rdir/inner/f'), 'deep');
    fs.renameSync(m('var/tmp/rdir'), m('home/rdir'));
    expect(fs.readFileSync(m('home/rdir/inner/f'), 'utf8')).toBe('deep');
    expect(codeOf(() => fs.statSync(m('var/tmp/rdir')))).toBe('ENOENT');

    // A base file renamed inside the set: its content goes along, the old name is gone.
    fs.renameSync(m('data/rename-me.txt'), m('data/renamed.txt'));
    expect(fs.readFileSync(m('data/renamed.txt'), 'utf8')).toBe('renamed base\n');
    expect(codeOf(() => fs.statSync(m('data/rename-me.txt')))).toBe('ENOENT');
    expect(names(m('data'))).not.toContain('rename-me.txt');

    expect(codeOf(() => fs.renameSync(m('data/moved'), m('etc/moved')))).toBe('EXDEV');
    expect(codeOf(() => fs.renameSync(m('data/moved'), m('usr/moved')))).toBe('EXDEV');
    expect(fs.readFileSync(m('data/moved'), 'utf8')).toBe('source');
    expect(codeOf(() => fs.renameSync(m('etc/other.conf'), m('var/tmp/other.conf')))).toBe('EROFS');
    expect(codeOf(() => fs.renameSync(m('bin/busybox'), m('bin/bb')))).toBe('EROFS');
    expect(fs.readFileSync(m('etc/other.conf'), 'utf8')).toBe('other\n');
  });

  it('mkdir, rmdir, ENOTEMPTY', () => {
    fs.mkdirSync(m('var/tmp/d'), 0o750);
    expect(fs.statSync(m('var/tmp/d')).isDirectory()).toBe(true);
    expect(fs.statSync(m('var/tmp/d')).mode & 0o7777).toBe(0o750);
    fs.writeFileSync(m('var/tmp/d/f'), '');
    expect(codeOf(() => fs.rmdirSync(m('var/tmp/d')))).toBe('ENOTEMPTY');
    expect(codeOf(() => fs.mkdirSync(m('var/tmp/d')))).toBe('EEXIST');
    fs.unlinkSync(m('var/tmp/d/f'));
    fs.rmdirSync(m('var/tmp/d'));
    expect(codeOf(() => fs.statSync(m('var/tmp/d')))).toBe('ENOENT');
    // A base directory with contents is not empty either.
    expect(codeOf(() => fs.rmdirSync(m('var/lib')))).toBe('ENOTEMPTY');
  });

  it('symlink and readlink', () => {
    fs.symlinkSync('hello.txt', m('var/tmp/link'));
    expect(fs.lstatSync(m('var/tmp/link')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(m('var/tmp/link'))).toBe('hello.txt');
    expect(fs.readFileSync(m('var/tmp/link'), 'utf8')).toBe('hello var/tmp/hello.txt\n');
    fs.symlinkSync('/nowhere/at/all', m('var/tmp/dangling'));
    expect(fs.readlinkSync(m('var/tmp/dangling'))).toBe('/nowhere/at/all');
    expect(codeOf(() => fs.symlinkSync('x', m('var/tmp/link')))).toBe('EEXIST');
  });

  it('hard links: nlink 2 on both names, one inode, shared content', () => {
    fs.writeFileSync(m('var/tmp/h1'), 'one');
    expect(fs.statSync(m('var/tmp/h1')).nlink).toBe(1);
    fs.linkSync(m('var/tmp/h1'), m('var/tmp/h2'));
    const a = fs.statSync(m('var/tmp/h1')), b = fs.statSync(m('var/tmp/h2'));
    expect(a.nlink).toBe(2);
    expect(b.nlink).toBe(2);
    expect(a.ino).toBe(b.ino);
    fs.appendFileSync(m('var/tmp/h2'), ' two');
    expect(fs.readFileSync(m('var/tmp/h1'), 'utf8')).toBe('one two');
    fs.linkSync(m('var/tmp/h1'), m('var/tmp/h3'));
    fs.unlinkSync(m('var/tmp/h3'));
    expect(fs.statSync(m('var/tmp/h1')).nlink).toBe(2);
    expect(fs.statSync(m('var/tmp/h2')).nlink).toBe(2);
  });

  it("shadow-utils' lock: link(X.<pid>, X.lock) then stat(X.<pid>) reports nlink 2", () => {
    for (const db of ['passwd', 'shadow', 'group', 'gshadow']) {
      const tmp = m(`etc/${db}.${process.pid}`), lock = m(`etc/${db}.lock`);
      fs.writeFileSync(tmp, `${process.pid}\0`);
      expect(fs.statSync(tmp).nlink).toBe(1); // primes the kernel's attribute cache, as commonio does by creating it
      fs.linkSync(tmp, lock);
      expect(fs.statSync(tmp).nlink).toBe(2);
      expect(fs.statSync(lock).nlink).toBe(2);
      fs.unlinkSync(tmp);
      expect(fs.statSync(lock).nlink).toBe(1);
      fs.unlinkSync(lock);
      // A second link() to an existing lock fails, which is what makes it a lock.
      fs.writeFileSync(tmp, 'x');
      fs.writeFileSync(lock, 'held');
      expect(codeOf(() => fs.linkSync(tmp, lock))).toBe('EEXIST');
      fs.unlinkSync(tmp);
      fs.unlinkSync(lock);
    }
    expect(fs.readFileSync(m('etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
  });

  it('chmod and chown leave mtime exactly as it was, to the nanosecond', () => {
    for (const p of [m('var/tmp/mt-dir'), m('var/tmp/mt-file')]) {
      if (p.endsWith('dir')) fs.mkdirSync(p); else fs.writeFileSync(p, 'x');
      const mtime = (): bigint => fs.statSync(p, { bigint: true }).mtimeNs;
      const before = mtime();
      fs.chmodSync(p, 0o700);
      expect(mtime(), `${p} after chmod`).toBe(before);
      fs.chownSync(p, 0, 1000);
      expect(mtime(), `${p} after chown`).toBe(before);
    }
  });

  it('chmod, with setuid, setgid and sticky bits', () => {
    const f = m('var/tmp/modes');
    fs.writeFileSync(f, '#!/bin/sh\n');
    for (const mode of [0o4755, 0o2755, 0o6711, 0o1644, 0o600, 0o7777, 0o000]) {
      fs.chmodSync(f, mode);
      expect(fs.statSync(f).mode & 0o7777).toBe(mode);
    }
    fs.chmodSync(f, 0o4755);
    fs.mkdirSync(m('var/tmp/sticky'));
    fs.chmodSync(m('var/tmp/sticky'), 0o1777);
    expect(fs.statSync(m('var/tmp/sticky')).mode & 0o7777).toBe(0o1777);
    fs.chmodSync(m('var/tmp/sticky'), 0o3775);
    expect(fs.statSync(m('var/tmp/sticky')).mode & 0o7777).toBe(0o3775);
    fs.chmodSync(m('var/tmp/sticky'), 0o1777);
  });

  it('chown as root, -1 leaves that half unchanged', () => {
    const f = m('var/tmp/owned');
    fs.writeFileSync(f, 'x');
    fs.chownSync(f, 1234, 5678);
    expect([fs.statSync(f).uid, fs.statSync(f).gid]).toEqual([1234, 5678]);
    fs.chownSync(f, -1, 42);
    expect([fs.statSync(f).uid, fs.statSync(f).gid]).toEqual([1234, 42]);
    fs.chownSync(f, 77, -1);
    expect([fs.statSync(f).uid, fs.statSync(f).gid]).toEqual([77, 42]);
    fs.symlinkSync('owned', m('var/tmp/owned-link'));
    fs.lchownSync(m('var/tmp/owned-link'), 5, 6);
    expect([fs.lstatSync(m('var/tmp/owned-link')).uid, fs.lstatSync(m('var/tmp/owned-link')).gid]).toEqual([5, 6]);
    expect([fs.statSync(f).uid, fs.statSync(f).gid]).toEqual([77, 42]);
    // A base file: metadata-only, both halves and the -1 case.
    fs.chownSync(m('data/times.txt'), 11, -1);
    expect([fs.statSync(m('data/times.txt')).uid, fs.statSync(m('data/times.txt')).gid]).toEqual([11, 0]);
    fs.chownSync(m('data/times.txt'), 0, 0);
  });

  it('chown drops setuid/setgid as the kernel does on a real file system (layer and base files)', () => {
    const ref = join(s.dir, 'chown-ref');
    for (const n of ['suid', 'sgid-x', 'sgid-nox', 'both']) {
      const base = m(`data/chown-${n}`), layer = m(`var/tmp/chown-${n}`);
      const mode = fs.statSync(base).mode & 0o7777;
      fs.writeFileSync(layer, n);
      fs.chmodSync(layer, mode);
      fs.writeFileSync(ref, n);
      fs.chmodSync(ref, mode);
      for (const p of [base, layer, ref]) fs.chownSync(p, 3, 4);
      const want = fs.statSync(ref).mode & 0o7777;
      expect({ n, mode: fs.statSync(base).mode & 0o7777 }).toEqual({ n, mode: want });
      expect({ n, mode: fs.statSync(layer).mode & 0o7777 }).toEqual({ n, mode: want });
      fs.rmSync(ref);
    }
  });

  it('utimens: touch -m keeps atime, touch -a keeps mtime (UTIME_OMIT), on layer and base files', () => {
    fs.writeFileSync(m('var/tmp/times'), 't');
    for (const f of [m('var/tmp/times'), m('data/times.txt')]) {
      fs.utimesSync(f, 500000000, 600000000);
      expect(fs.statSync(f).atimeMs).toBe(500000000_000);
      expect(fs.statSync(f).mtimeMs).toBe(600000000_000);
      sh('touch', ['-m', '-d', '@1000000000', f]);
      expect(fs.statSync(f).mtimeMs).toBe(1000000000_000);
      expect(fs.statSync(f).atimeMs).toBe(500000000_000);
      sh('touch', ['-a', '-d', '@1500000000', f]);
      expect(fs.statSync(f).atimeMs).toBe(1500000000_000);
      expect(fs.statSync(f).mtimeMs).toBe(1000000000_000);
      const before = Date.now() - 60_000;
      sh('touch', [f]); // UTIME_NOW for both
      expect(fs.statSync(f).mtimeMs).toBeGreaterThan(before);
      expect(fs.statSync(f).atimeMs).toBeGreaterThan(before);
    }
    expect(fs.readFileSync(m('data/times.txt'), 'utf8')).toBe('times\n');
  });

  it('xattrs: set, get, list, remove, XATTR_CREATE/XATTR_REPLACE errors (layer and base files)', () => {
    fs.writeFileSync(m('var/tmp/xa'), 'x');
    for (const f of [m('var/tmp/xa'), m('data/xattr.txt')]) {
      sh('setfattr', ['-n', 'user.color', '-v', 'blue', f]);
      sh('setfattr', ['-n', 'user.size', '-v', 'large', f]);
      expect(sh('getfattr', ['--only-values', '-n', 'user.color', f])).toBe('blue');
      const listed = sh('getfattr', ['-d', '-m', '^user\\.', '--absolute-names', f]);
      expect(listed).toContain('user.color="blue"');
      expect(listed).toContain('user.size="large"');
      sh('setfattr', ['-x', 'user.size', f]);
      expect(sh('getfattr', ['-d', '-m', '^user\\.', '--absolute-names', f])).not.toContain('user.size');
      expect(run('getfattr', ['-n', 'user.size', f]).stderr).toMatch(/No such attribute/);
      const out = py(`
import os, sys, errno
p = sys.argv[1]
def t(f):
    try:
        f(); return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
print(t(lambda: os.setxattr(p, 'user.color', b'red', os.XATTR_CREATE)))
print(t(lambda: os.setxattr(p, 'user.new', b'v', os.XATTR_REPLACE)))
print(t(lambda: os.setxattr(p, 'user.new', b'v', os.XATTR_CREATE)))
print(t(lambda: os.setxattr(p, 'user.new', b'w', os.XATTR_REPLACE)))
print(os.getxattr(p, 'user.new').decode())
print(t(lambda: os.removexattr(p, 'user.missing')))
print(','.join(sorted(x for x in os.listxattr(p) if x.startswith('user.'))))
`, [f]);
      const want = f.endsWith('xattr.txt') ? 'user.color,user.keep,user.new' : 'user.color,user.new';
      expect(out.trim().split('\n')).toEqual(['EEXIST', 'ENODATA', 'ok', 'ok', 'w', 'ENODATA', want]);
    }
    expect(fs.readFileSync(m('data/xattr.txt'), 'utf8')).toBe('x\n');
  });

  it('fsync and fdatasync', () => {
    const fd = fs.openSync(m('var/tmp/synced'), 'w');
    try {
      fs.writeSync(fd, 'durable');
      fs.fsyncSync(fd);
      fs.fdatasyncSync(fd);
    } finally { fs.closeSync(fd); }
    expect(fs.readFileSync(m('var/tmp/synced'), 'utf8')).toBe('durable');
  });

  it('an unlinked open file: read and write through the fd still work; the name is gone, no .fuse_hidden', () => {
    const p = m('var/tmp/open-unlinked');
    fs.writeFileSync(p, 'hello');
    const fd = fs.openSync(p, 'r+');
    try {
      fs.unlinkSync(p);
      expect(codeOf(() => fs.statSync(p))).toBe('ENOENT');
      expect(fs.writeSync(fd, ' world', 5)).toBe(6);
      const buf = Buffer.alloc(64);
      expect(buf.subarray(0, fs.readSync(fd, buf, 0, 64, 0)).toString()).toBe('hello world');
      fs.ftruncateSync(fd, 4);
      expect(buf.subarray(0, fs.readSync(fd, buf, 0, 64, 0)).toString()).toBe('hell');
      fs.fsyncSync(fd);
      const listing = names(m('var/tmp'));
      expect(listing).not.toContain('open-unlinked');
      expect(listing.filter((n2) => n2.startsWith('.fuse_hidden'))).toEqual([]);
      expect(fs.readdirSync(join(upper, 'var/tmp')).filter((n2) => n2.startsWith('.fuse_hidden') || n2 === 'open-unlinked')).toEqual([]);
      // A new file may take the name meanwhile; the open one is not it.
      fs.writeFileSync(p, 'other');
      expect(buf.subarray(0, fs.readSync(fd, buf, 0, 64, 0)).toString()).toBe('hell');
      fs.unlinkSync(p);
    } finally { fs.closeSync(fd); }
    expect(names(m('var/tmp')).filter((n2) => n2.startsWith('.fuse_hidden'))).toEqual([]);
  });

  // libfuse renames a file unlinked while open to .fuse_hidden*; the layer moves it out of the
  // tree and serves that name as unlinked (nlink 0) until the last close.
  it('an unlinked open file: fstat shows nlink 0', () => {
    const p = m('var/tmp/open-unlinked-stat');
    fs.writeFileSync(p, 'hello');
    const fd = fs.openSync(p, 'r+');
    try {
      expect(fs.fstatSync(fd).nlink).toBe(1);
      fs.unlinkSync(p);
      const st = fs.fstatSync(fd);
      expect(st.nlink).toBe(0);
      expect(st.size).toBe(5);
    } finally { fs.closeSync(fd); }
  });

  it('in a directory only the layer has: names come and go at once, an unlinked open file still works, a renamed directory shows its files', () => {
    const d = m('var/tmp/made');
    fs.mkdirSync(d);
    expect(codeOf(() => fs.statSync(join(d, 'f')))).toBe('ENOENT');
    fs.writeFileSync(join(d, 'f'), 'x');
    expect(fs.statSync(join(d, 'f')).size).toBe(1);
    const fd = fs.openSync(join(d, 'f'), 'r+');
    try {
      fs.unlinkSync(join(d, 'f'));
      expect(codeOf(() => fs.statSync(join(d, 'f')))).toBe('ENOENT');
      expect(fs.fstatSync(fd).nlink).toBe(0);
      expect(fs.writeSync(fd, 'yz', 1)).toBe(2);
      expect(fs.fstatSync(fd).size).toBe(3);
    } finally { fs.closeSync(fd); }
    fs.writeFileSync(join(d, 'g'), 'g');
    fs.renameSync(d, m('var/tmp/moved'));
    expect(codeOf(() => fs.statSync(join(d, 'g')))).toBe('ENOENT');
    expect(fs.readFileSync(m('var/tmp/moved/g'), 'utf8')).toBe('g');
    fs.mkdirSync(d);
    expect(codeOf(() => fs.statSync(join(d, 'g')))).toBe('ENOENT');
    expect(names(d)).toEqual([]);
    fs.rmSync(m('var/tmp/moved'), { recursive: true });
    fs.rmdirSync(d);
  });

  it('O_APPEND: two appends land at the end', () => {
    const p = m('var/tmp/appended');
    fs.writeFileSync(p, 'a');
    const fd1 = fs.openSync(p, 'a'), fd2 = fs.openSync(p, 'a');
    try {
      fs.writeSync(fd1, 'b');
      fs.writeSync(fd2, 'c'); // opened before the first append: must still land at the end
      fs.writeSync(fd1, 'd', 0); // a position is ignored with O_APPEND
    } finally { fs.closeSync(fd1); fs.closeSync(fd2); }
    expect(fs.readFileSync(p, 'utf8')).toBe('abcd');
    fs.appendFileSync(p, 'e');
    expect(fs.readFileSync(p, 'utf8')).toBe('abcde');
  });

  it('O_EXCL: EEXIST on an existing file, also one only in the base commit', () => {
    fs.writeFileSync(m('var/tmp/excl'), 'x');
    expect(codeOf(() => fs.openSync(m('var/tmp/excl'), 'wx'))).toBe('EEXIST');
    expect(codeOf(() => fs.openSync(m('var/lib/base-file'), 'wx'))).toBe('EEXIST');
    expect(codeOf(() => fs.openSync(m('data/base.txt'), 'wx'))).toBe('EEXIST');
    expect(codeOf(() => fs.openSync(m('var/lib'), 'wx'))).toBe('EEXIST');
    expect(fs.readFileSync(m('var/lib/base-file'), 'utf8')).toBe('in base\n');
    const fd = fs.openSync(m('var/tmp/excl-new'), 'wx');
    fs.closeSync(fd);
    expect(fs.statSync(m('var/tmp/excl-new')).size).toBe(0);
  });

  it('flock: a second process cannot take the lock while the first holds it', async () => {
    const p = m('var/tmp/flocked');
    fs.writeFileSync(p, '');
    const holder = spawn('flock', ['-x', p, '-c', 'echo locked; read line'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((res) => holder.on('exit', (code) => res(code)));
    try {
      await new Promise<void>((res, rej) => {
        let out = '';
        holder.stdout.on('data', (d) => { out += d; if (out.includes('locked')) res(); });
        holder.on('exit', (code) => rej(new Error(`flock holder exited ${code} before it held the lock`)));
      });
      expect(run('flock', ['-n', '-x', p, 'true']).code).toBe(1);
      expect(run('flock', ['-n', '-s', p, 'true']).code).toBe(1);
    } finally {
      holder.stdin.end('\n');
    }
    expect(await exited).toBe(0);
    expect(run('flock', ['-n', '-x', p, 'true']).code).toBe(0);
  });

  it('mknod: a fifo, and a char device 0:0 that is an ordinary entry, not a whiteout', () => {
    py('import os, sys; os.mkfifo(sys.argv[1], 0o640)', [m('var/tmp/fifo')]);
    expect(fs.lstatSync(m('var/tmp/fifo')).isFIFO()).toBe(true);
    expect(fs.lstatSync(m('var/tmp/fifo')).mode & 0o7777).toBe(0o640);
    expect(names(m('var/tmp'))).toContain('fifo');

    sh('mknod', [m('var/tmp/chr00'), 'c', '0', '0']);
    const st = fs.lstatSync(m('var/tmp/chr00'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(sh('stat', ['-c', '%F %t,%T', m('var/tmp/chr00')]).trim()).toBe('character special file 0,0');
    expect(names(m('var/tmp'))).toContain('chr00');
    sh('mknod', [m('var/tmp/chr15'), 'c', '1', '5']);
    expect(sh('stat', ['-c', '%t,%T', m('var/tmp/chr15')]).trim()).toBe('1,5');

    // Where a base file was deleted: the device is what shows, and nothing beside it is hidden.
    const baseNames = names(m('data'));
    fs.unlinkSync(m('data/chr-over.txt'));
    sh('mknod', [m('data/chr-over.txt'), 'c', '0', '0']);
    expect(fs.lstatSync(m('data/chr-over.txt')).isCharacterDevice()).toBe(true);
    expect(names(m('data'))).toEqual(baseNames);
    expect(fs.readFileSync(m('data/base.txt'), 'utf8')).toBe('base content\n');
    // In a new directory, too: the directory and its entries stay visible.
    fs.mkdirSync(m('data/devdir'));
    sh('mknod', [m('data/devdir/null-ish'), 'c', '0', '0']);
    fs.writeFileSync(m('data/devdir/beside'), 'beside');
    expect(names(m('data/devdir'))).toEqual(['beside', 'null-ish']);

    const diff = layerDiff();
    expect(diff).toContainEqual({ change: 'A', path: '/var/tmp/chr00' });
    expect(diff).toContainEqual({ change: 'M', path: '/data/chr-over.txt' });
    expect(diff).toContainEqual({ change: 'A', path: '/data/devdir/null-ish' });
    expect(diff.filter((c) => c.change === 'D' && c.path.startsWith('/data/devdir'))).toEqual([]);
  });

  it('ENAMETOOLONG for a 256-byte name (create and stat); 255 bytes work', () => {
    const long = 'n'.repeat(256);
    expect(codeOf(() => fs.writeFileSync(m(`var/tmp/${long}`), 'x'))).toBe('ENAMETOOLONG');
    expect(codeOf(() => fs.statSync(m(`var/tmp/${long}`)))).toBe('ENAMETOOLONG');
    expect(codeOf(() => fs.mkdirSync(m(`var/tmp/${long}`)))).toBe('ENAMETOOLONG');
    // Multi-byte: 128 two-byte characters are 256 bytes.
    expect(codeOf(() => fs.writeFileSync(m(`var/tmp/${'é'.repeat(128)}`), 'x'))).toBe('ENAMETOOLONG');
    const ok = 'k'.repeat(255);
    fs.writeFileSync(m(`var/tmp/${ok}`), 'fits');
    expect(fs.readFileSync(m(`var/tmp/${ok}`), 'utf8')).toBe('fits');
    expect(names(m('var/tmp'))).toContain(ok);
  });

  it('permissions are checked as the calling uid/gid (uid 1000)', () => {
    // A 1777 directory takes anyone's files, owned by them.
    expect(tryAs(1000, 'create', m('tmp/by1000'))).toBe('ok');
    expect(tryAs(1000, 'create', m('var/tmp/by1000'))).toBe('ok');
    expect(tryAs(1000, 'mkdir', m('var/tmp/dir1000'))).toBe('ok');
    for (const p of ['tmp/by1000', 'var/tmp/by1000', 'var/tmp/dir1000']) {
      expect([fs.statSync(m(p)).uid, fs.statSync(m(p)).gid]).toEqual([1000, 1000]);
    }
    // A root-owned 0644 file, in the base and in the layer, cannot be written.
    expect(tryAs(1000, 'append', m('var/tmp/root-owned'))).toBe('EACCES');
    fs.writeFileSync(m('var/tmp/root-layer'), 'root');
    fs.chmodSync(m('var/tmp/root-layer'), 0o644);
    expect(tryAs(1000, 'append', m('var/tmp/root-layer'))).toBe('EACCES');
    // Nor created in a root-owned 0755 directory, nor deleted from a sticky one.
    expect(tryAs(1000, 'create', m('var/lib/nope'))).toBe('EACCES');
    expect(tryAs(1000, 'unlink', m('var/tmp/root-layer'))).toBe('EPERM');
    expect(fs.readFileSync(m('var/tmp/root-layer'), 'utf8')).toBe('root');
    // Their own file in their own home: fine.
    expect(tryAs(1000, 'append', m('home/alice/notes.txt'))).toBe('ok');
    // A setgid directory passes its group on (and its setgid bit to subdirectories).
    fs.mkdirSync(m('var/sgid'));
    fs.chownSync(m('var/sgid'), 0, 50);
    fs.chmodSync(m('var/sgid'), 0o2777);
    expect(tryAs(1000, 'create', m('var/sgid/file'))).toBe('ok');
    expect(tryAs(1000, 'mkdir', m('var/sgid/sub'))).toBe('ok');
    expect([fs.statSync(m('var/sgid/file')).uid, fs.statSync(m('var/sgid/file')).gid]).toEqual([1000, 50]);
    expect([fs.statSync(m('var/sgid/sub')).uid, fs.statSync(m('var/sgid/sub')).gid]).toEqual([1000, 50]);
    expect(fs.statSync(m('var/sgid/sub')).mode & 0o2000).toBe(0o2000);
  });

  it('copy-up keeps content and metadata and changes only what was changed', () => {
    const p = m('data/base.txt');
    const before = fs.statSync(p);
    expect([before.mode & 0o7777, before.uid, before.gid, before.size]).toEqual([0o640, 1234, 2345, 13]);
    expect(fs.existsSync(join(upper, 'data/base.txt'))).toBe(false);
    const fd = fs.openSync(p, 'r+');
    try { fs.writeSync(fd, 'B', 0); } finally { fs.closeSync(fd); }
    expect(fs.readFileSync(p, 'utf8')).toBe('Base content\n');
    const after = fs.statSync(p);
    expect([after.mode & 0o7777, after.uid, after.gid, after.size]).toEqual([0o640, 1234, 2345, 13]);
    expect(xattr.getAttributeSync(p, 'user.origin')?.toString()).toBe('base');
    expect(fs.existsSync(join(upper, 'data/base.txt'))).toBe(true);
    // Nothing else of /data was copied; the commit itself is untouched.
    expect(fs.existsSync(join(upper, 'data/meta.txt'))).toBe(false);
    expect(fs.readFileSync(join(bb, 'data/base.txt'), 'utf8')).toBe('base content\n');
    expect(layerDiff()).toContainEqual({ change: 'M', path: '/data/base.txt' });
  });

  it('chmod of a base file is a metadata-only change (layer diff: M, no copy)', () => {
    const p = m('data/meta.txt');
    fs.chmodSync(p, 0o600);
    expect(fs.statSync(p).mode & 0o7777).toBe(0o600);
    expect(fs.readFileSync(p, 'utf8')).toBe('meta\n');
    expect(fs.existsSync(join(upper, 'data/meta.txt'))).toBe(false);
    expect(layerDiff()).toContainEqual({ change: 'M', path: '/data/meta.txt' });
  });

  it('a deleted base file can be made again', () => {
    const p = m('data/del.txt');
    fs.unlinkSync(p);
    expect(codeOf(() => fs.statSync(p))).toBe('ENOENT');
    expect(names(m('data'))).not.toContain('del.txt');
    expect(layerDiff()).toContainEqual({ change: 'D', path: '/data/del.txt' });
    fs.writeFileSync(p, 'new\n', { flag: 'wx' });
    expect(fs.readFileSync(p, 'utf8')).toBe('new\n');
    expect(names(m('data')).filter((n) => n === 'del.txt')).toHaveLength(1);
    expect(layerDiff()).toContainEqual({ change: 'M', path: '/data/del.txt' });
  });

  it('rmdir of a base directory, then mkdir at the same path: an empty (opaque) directory', () => {
    expect(names(m('data/full'))).toEqual(['a', 'b', 'sub']);
    fs.rmSync(m('data/full'), { recursive: true });
    expect(codeOf(() => fs.statSync(m('data/full')))).toBe('ENOENT');
    fs.mkdirSync(m('data/full'));
    expect(names(m('data/full'))).toEqual([]);
    expect(codeOf(() => fs.statSync(m('data/full/a')))).toBe('ENOENT');
    fs.writeFileSync(m('data/full/new'), 'new');
    expect(names(m('data/full'))).toEqual(['new']);
    expect(codeOf(() => fs.rmdirSync(m('data/full')))).toBe('ENOTEMPTY');
  });

  it('sparse files and writes beyond 4 GiB', () => {
    const p = m('var/tmp/sparse');
    const far = 5 * GiB + 7;
    const fd = fs.openSync(p, 'w+');
    try {
      fs.writeSync(fd, 'START', 0);
      expect(fs.writeSync(fd, 'END', far)).toBe(3);
      const st = fs.fstatSync(fd);
      expect(st.size).toBe(far + 3);
      expect(st.blocks).toBeLessThan(1024);
      const buf = Buffer.alloc(3);
      expect(fs.readSync(fd, buf, 0, 3, far)).toBe(3);
      expect(buf.toString()).toBe('END');
      const hole = Buffer.alloc(16, 1);
      expect(fs.readSync(fd, hole, 0, 16, 4 * GiB + 100)).toBe(16);
      expect(hole.equals(Buffer.alloc(16))).toBe(true);
    } finally { fs.closeSync(fd); }
    expect(fs.statSync(p).size).toBe(far + 3);
    expect(fs.statSync(p).blocks).toBeLessThan(1024);
    fs.truncateSync(p, 6 * GiB);
    expect(fs.statSync(p).size).toBe(6 * GiB);
    expect(fs.statSync(p).blocks).toBeLessThan(1024);
    const head = Buffer.alloc(5);
    const fd2 = fs.openSync(p, 'r');
    try { fs.readSync(fd2, head, 0, 5, 0); } finally { fs.closeSync(fd2); }
    expect(head.toString()).toBe('START');
  });

  it('a tree past PATH_MAX, made a directory at a time as on ext4: it works, is there after a mount again (in /tmp: gone), layer diff lists it, layer reset takes it', () => {
    // 25 levels of 200 bytes: 5 KiB of path below the directory, reached by descriptors only.
    const DEEP = `
import errno, os, sys
try:
    fd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
    for i in range(25):
        if sys.argv[1] == 'make': os.mkdir('d' * 200, dir_fd=fd)
        nfd = os.open('d' * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd); os.close(fd); fd = nfd
    if sys.argv[1] == 'make':
        f = os.open('leaf', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd); os.write(f, b'deep'); os.close(f)
    f = os.open('leaf', os.O_RDONLY, dir_fd=fd); print(os.read(f, 100).decode()); os.close(f)
except OSError as e:
    print(errno.errorcode[e.errno])
`;
    for (const d of ['var/tmp/deep', 'tmp/deep']) {
      fs.mkdirSync(m(d));
      expect(py(DEEP, ['make', m(d)]).trim()).toBe('deep');
    }
    H(['root', 'umount', 'r']);
    mountRoot();
    expect(py(DEEP, ['read', m('var/tmp/deep')]).trim()).toBe('deep');
    expect(codeOf(() => fs.statSync(m('tmp/deep')))).toBe('ENOENT');
    expect(H(['layer', 'diff', 'r'])).toMatch(/^A +\/var\/tmp\/deep\/(d{200}\/){25}leaf$/m);
    H(['layer', 'reset', 'r', '/var/tmp/deep']);
    expect(codeOf(() => fs.statSync(m('var/tmp/deep')))).toBe('ENOENT');
    expect(fs.readdirSync(upper + '/var/tmp')).not.toContain('deep');
  });
});

describe('outside the writable set', () => {
  it('every change fails with EROFS', () => {
    expect(codeOf(() => fs.writeFileSync(m('usr/bin/x'), 'x'))).toBe('EROFS');
    expect(codeOf(() => fs.openSync(m('etc/other.conf'), 'r+'))).toBe('EROFS');
    expect(codeOf(() => fs.appendFileSync(m('etc/other.conf'), 'x'))).toBe('EROFS');
    expect(codeOf(() => fs.truncateSync(m('etc/other.conf'), 0))).toBe('EROFS');
    expect(codeOf(() => fs.chmodSync(m('bin/busybox'), 0o700))).toBe('EROFS');
    expect(codeOf(() => fs.chownSync(m('bin/busybox'), 1, 1))).toBe('EROFS');
    expect(codeOf(() => fs.mkdirSync(m('opt/x')))).toBe('EROFS');
    expect(codeOf(() => fs.unlinkSync(m('etc/other.conf')))).toBe('EROFS');
    expect(codeOf(() => fs.rmdirSync(m('opt')))).toBe('EROFS');
    expect(codeOf(() => fs.symlinkSync('x', m('usr/link')))).toBe('EROFS');
    expect(codeOf(() => fs.utimesSync(m('bin/busybox'), 1, 1))).toBe('EROFS');
    expect(run('setfattr', ['-n', 'user.x', '-v', '1', m('bin/busybox')]).stderr).toMatch(/Read-only file system/);
    expect(run('mknod', [m('opt/fifo'), 'p']).stderr).toMatch(/Read-only file system/);
    expect(fs.readFileSync(m('etc/other.conf'), 'utf8')).toBe('other\n');
    expect(fs.statSync(m('bin/busybox')).mode & 0o7777).toBe(0o755);
    expect(names(m('opt'))).toEqual([]);
  });
});

describe('persistence', () => {
  const check = (): void => {
    expect(fs.readFileSync(m('var/tmp/hello.txt'), 'utf8')).toBe('hello var/tmp/hello.txt\n');
    expect(fs.readFileSync(m('home/hello.txt'), 'utf8')).toBe('hello home/hello.txt\n');
    expect(fs.readFileSync(m('data/hello.txt'), 'utf8')).toBe('hello data/hello.txt\n');
    expect(fs.readFileSync(m('home/rdir/inner/f'), 'utf8')).toBe('deep');
    expect(fs.readFileSync(m('data/renamed.txt'), 'utf8')).toBe('renamed base\n');
    expect(codeOf(() => fs.statSync(m('data/rename-me.txt')))).toBe('ENOENT');
    expect(fs.readlinkSync(m('var/tmp/link'))).toBe('hello.txt');
    expect(fs.statSync(m('var/tmp/h1')).nlink).toBe(2);
    expect(fs.statSync(m('var/tmp/h1')).ino).toBe(fs.statSync(m('var/tmp/h2')).ino);
    expect(fs.statSync(m('var/tmp/modes')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(m('var/tmp/sticky')).mode & 0o7777).toBe(0o1777);
    expect([fs.statSync(m('var/tmp/owned')).uid, fs.statSync(m('var/tmp/owned')).gid]).toEqual([77, 42]);
    expect(fs.statSync(m('data/times.txt')).mtimeMs).toBeGreaterThan(1000000000_000);
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', m('var/tmp/xa')])).toBe('blue');
    expect(sh('getfattr', ['--only-values', '-n', 'user.new', m('data/xattr.txt')])).toBe('w');
    expect(fs.readFileSync(m('var/tmp/appended'), 'utf8')).toBe('abcde');
    expect(fs.statSync(m('var/tmp/sparse')).size).toBe(6 * GiB);
    expect(fs.lstatSync(m('var/tmp/fifo')).isFIFO()).toBe(true);
    expect(fs.lstatSync(m('var/tmp/chr00')).isCharacterDevice()).toBe(true);
    expect(fs.lstatSync(m('data/chr-over.txt')).isCharacterDevice()).toBe(true);
    expect([fs.statSync(m('var/sgid/file')).uid, fs.statSync(m('var/sgid/file')).gid]).toEqual([1000, 50]);
    expect(fs.readFileSync(m('data/base.txt'), 'utf8')).toBe('Base content\n');
    expect(fs.statSync(m('data/base.txt')).mode & 0o7777).toBe(0o640);
    expect(fs.statSync(m('data/meta.txt')).mode & 0o7777).toBe(0o600);
    expect(fs.readFileSync(m('data/del.txt'), 'utf8')).toBe('new\n');
    expect(names(m('data/full'))).toEqual(['new']);
    expect(names(m('var/tmp')).filter((n) => n.startsWith('.fuse_hidden') || n.startsWith('.hacktree'))).toEqual([]);
    expect(names(m('var/tmp'))).not.toContain('open-unlinked');
  };

  it('unmount and mount again: everything written is still there', () => {
    check();
    H(['root', 'umount', 'r']);
    expect(isMounted(mnt)).toBe(false);
    mountRoot();
    check();
  });

  it('kill -9 the daemon after a write + fsync; its supervisor mounts again; the data survives that and a remount', async () => {
    const fd = fs.openSync(m('var/tmp/crash.txt'), 'w');
    try { fs.writeSync(fd, 'survives a crash'); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.chmodSync(m('data/xattr.txt'), 0o604); // a layer.db record, too
    fs.unlinkSync(m('var/lib/base-file')); // and a whiteout
    const pid = daemonPid();
    const now = await killDaemonAndWait(mnt);
    expect(now.deaths!.at(-1)).toMatchObject({ pid, how: 'killed by SIGKILL' });
    expect(fs.readFileSync(m('var/tmp/crash.txt'), 'utf8')).toBe('survives a crash');
    H(['root', 'umount', 'r']);
    expect(isMounted(mnt)).toBe(false);
    mountRoot();
    expect(fs.readFileSync(m('var/tmp/crash.txt'), 'utf8')).toBe('survives a crash');
    expect(fs.statSync(m('data/xattr.txt')).mode & 0o7777).toBe(0o604);
    expect(codeOf(() => fs.statSync(m('var/lib/base-file')))).toBe('ENOENT');
    check();
  });

  it('the daemon logged no failed ops (nothing became EIO)', () => {
    const log = fs.readFileSync(logFile(), 'utf8');
    expect(log.split('\n').filter((l) => / failed: /.test(l))).toEqual([]);
  });
});
