// Keeps the binding's native attribute cache true on a writable mount.
//
// The kernel is told to cache nothing on a writable mount (attr_timeout=0: see
// serve.ts), so it asks again for every stat, every path component it walks
// and, before each write, for security.capability. Without the native cache
// each of those is a round trip into JS (~50-100 µs); with it, an answer JS
// gave once is given again on the libfuse thread until something changes it.
//
// Every op that changes the tree is wrapped here: once it has finished, and
// before its answer goes to the kernel, what it may have touched is forgotten
// (the binding also drops any answer that JS computed while a forget happened).
// What an op touches besides the paths it names (a directory copied up into the
// layer on the way to a new file) the backend reports (binding sideChanges).
import fs from 'node:fs';
import type { FuseOps } from './binding.js';

/** What a forget drops: the same bits as fuse-native.c's FORGET_*. */
export const FORGET_STAT = 1;     // attributes: size, times, mode, owner, link count
export const FORGET_NAME = 2;     // all that is known of the path: attributes, symlink target, xattr answers
export const FORGET_LISTING = 4;  // the listing of the directory at the path
export const FORGET_BELOW = 8;    // all that is known of every path below it

export type Forget = (paths: readonly string[], what: number) => void;

const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const S_IFMT = 0o170000, S_IFDIR = 0o040000;
const { O_TRUNC } = fs.constants;
const O_ACCMODE = 3;
const NO_CONTEXT = Object.freeze({ uid: 0, gid: 0, pid: 0, umask: 0 });

/** A new or removed name: the entry itself, and its directory's attributes (mtime, nlink) and listing. */
function nameChanged(forget: Forget, path: string, what = FORGET_NAME): void {
  forget([path], what);
  forget([parentOf(path)], FORGET_STAT | FORGET_LISTING);
}

/** What `sideChange` reports: an entry that became another (copied up), which its directory lists. */
export function sideChanged(forget: Forget, path: string): void {
  forget([path], FORGET_NAME | FORGET_LISTING);
  forget([parentOf(path)], FORGET_STAT | FORGET_LISTING);
}

type Op = (...args: never[]) => unknown;

/** Runs `op`, then `after` (also when it failed: a failed op may have changed something). */
function then<F extends Op>(op: F | undefined, after: (...args: Parameters<F>) => void | Promise<void>): F | undefined {
  if (!op) return undefined;
  return (async (...args: Parameters<F>) => {
    try {
      return await op(...args);
    } finally {
      await after(...args);
    }
  }) as unknown as F;
}

export function keepCoherent(ops: FuseOps, forget: Forget): FuseOps {
  const stat = (path: string | null): void => { if (path !== null) forget([path], FORGET_STAT); };
  const isDir = async (path: string): Promise<boolean> => {
    try {
      return ((await ops.getattr(path, NO_CONTEXT)).mode & S_IFMT) === S_IFDIR;
    } catch {
      return true; // unknown: assume the worst
    }
  };
  return {
    ...ops,
    // A write changes size and times, never xattrs: the answer "no security.capability" stays.
    write: then(ops.write, (path) => stat(path)),
    truncate: then(ops.truncate, (path) => stat(path)),
    ftruncate: then(ops.ftruncate, (path) => stat(path)),
    chmod: then(ops.chmod, (path) => stat(path)),
    chown: then(ops.chown, (path) => stat(path)),
    utimens: then(ops.utimens, (path) => stat(path)),
    setxattr: then(ops.setxattr, (path) => forget([path], FORGET_NAME)),
    removexattr: then(ops.removexattr, (path) => forget([path], FORGET_NAME)),
    open: then(ops.open, (path, flags) => { if ((flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0) stat(path); }),
    create: then(ops.create, (path) => nameChanged(forget, path)),
    mknod: then(ops.mknod, (path) => nameChanged(forget, path)),
    mkdir: then(ops.mkdir, (path) => nameChanged(forget, path, FORGET_NAME | FORGET_LISTING)),
    symlink: then(ops.symlink, (_target, path) => nameChanged(forget, path)),
    unlink: then(ops.unlink, (path) => nameChanged(forget, path)),
    rmdir: then(ops.rmdir, (path) => nameChanged(forget, path, FORGET_NAME | FORGET_LISTING | FORGET_BELOW)),
    // Both names: the link count of `existing` changed too.
    link: then(ops.link, (existing, path) => { forget([existing], FORGET_STAT); nameChanged(forget, path); }),
    rename: then(ops.rename, async (from, to) => {
      // Every path below a renamed directory is gone or means something else now.
      const what = FORGET_NAME | FORGET_LISTING | (await isDir(to) ? FORGET_BELOW : 0);
      nameChanged(forget, from, what);
      nameChanged(forget, to, what);
    }),
  };
}
