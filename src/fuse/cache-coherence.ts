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
// layer on the way to a new file) the tree reports (ChangeSource.observe), and
// where it can tell the new attributes at once, they are published right away.
import fs from 'node:fs';
import type { FuseOps, Stat } from './binding.js';

/** What a forget drops: the same bits as native/src/attr_cache.h's FORGET_*. */
export const FORGET_STAT = 1;     // attributes: size, times, mode, owner, link count
export const FORGET_NAME = 2;     // all that is known of the path: attributes, symlink target, xattr answers
export const FORGET_LISTING = 4;  // the listing of the directory at the path
export const FORGET_BELOW = 8;    // all that is known of every path below it

export type Forget = (paths: readonly string[], what: number) => void;
/** noCaps: the entry has no security.capability xattr (the kernel asks before every write). */
export type Publish = (path: string, st: Stat, noCaps: boolean) => void;

/** What a changing tree tells the binding beyond its ops. */
export interface ChangeSource {
  /** Called once at mount: report each entry an op changes besides the paths it names (a directory copied up on the way). */
  observe?(changed: (path: string) => void): void;
  /**
   * The attributes of an entry an op just changed, if they can be had without waiting
   * (its inode is in memory), else null. Published at once, they answer the getattr
   * that libfuse and the kernel send right after most changes.
   */
  statNow?(path: string): Stat | null;
  /**
   * The directory that mirrors, path for path, the files whose Stat.dev names their inode
   * (directHandles): the binding changes their mode, owner and times there itself.
   */
  readonly layerDir?: string;
}

const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const S_IFMT = 0o170000, S_IFDIR = 0o040000;
const { O_TRUNC } = fs.constants;
const O_ACCMODE = 3;
const NO_CONTEXT = Object.freeze({ uid: 0, gid: 0, pid: 0, umask: 0 });

type Op = (...args: never[]) => unknown;

/** Runs `op`, then `after`, told whether it succeeded (also when it failed: a failed op may have changed something). */
function then<F extends Op>(op: F | undefined, after: (ok: boolean, ...args: Parameters<F>) => void | Promise<void>): F | undefined {
  if (!op) return undefined;
  return (async (...args: Parameters<F>) => {
    let ok = false;
    try {
      const r = await op(...args);
      ok = true;
      return r;
    } finally {
      await after(ok, ...args);
    }
  }) as unknown as F;
}

export function keepCoherent(ops: FuseOps, changes: ChangeSource, forget: Forget, publish: Publish): FuseOps {
  /** Forgets, then publishes the new answer when the tree has it at hand: in one tick, so nothing comes between. */
  const changed = (path: string | null, what: number, fresh = false): void => {
    if (path === null) return;
    forget([path], what);
    const st = changes.statNow?.(path);
    if (st) publish(path, st, fresh);
  };
  /**
   * A new or removed name: the entry itself, and its directory's attributes (mtime, nlink) and
   * listing. `fresh`: a file just made, which cannot have a security.capability yet.
   */
  const nameChanged = (path: string, what = FORGET_NAME, fresh = false): void => {
    changed(path, what, fresh);
    changed(parentOf(path), FORGET_STAT | FORGET_LISTING);
  };
  // A copied-up entry is another inode now, which its directory lists.
  changes.observe?.((path) => nameChanged(path, FORGET_NAME | FORGET_LISTING));
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
    write: then(ops.write, (_ok, path) => changed(path, FORGET_STAT)),
    truncate: then(ops.truncate, (_ok, path) => changed(path, FORGET_STAT)),
    ftruncate: then(ops.ftruncate, (_ok, path) => changed(path, FORGET_STAT)),
    chmod: then(ops.chmod, (_ok, path) => changed(path, FORGET_STAT)),
    chown: then(ops.chown, (_ok, path) => changed(path, FORGET_STAT)),
    utimens: then(ops.utimens, (_ok, path) => changed(path, FORGET_STAT)),
    setxattr: then(ops.setxattr, (_ok, path) => changed(path, FORGET_NAME)),
    removexattr: then(ops.removexattr, (_ok, path) => changed(path, FORGET_NAME)),
    open: then(ops.open, (_ok, path, flags) => { if ((flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0) changed(path, FORGET_STAT); }),
    create: then(ops.create, (ok, path) => nameChanged(path, FORGET_NAME, ok)),
    mknod: then(ops.mknod, (_ok, path) => nameChanged(path)),
    mkdir: then(ops.mkdir, (_ok, path) => nameChanged(path, FORGET_NAME | FORGET_LISTING)),
    symlink: then(ops.symlink, (_ok, _target, path) => nameChanged(path)),
    unlink: then(ops.unlink, (_ok, path) => nameChanged(path)),
    rmdir: then(ops.rmdir, (_ok, path) => nameChanged(path, FORGET_NAME | FORGET_LISTING | FORGET_BELOW)),
    // Both names: the link count of `existing` changed too.
    link: then(ops.link, (_ok, existing, path) => { changed(existing, FORGET_STAT); nameChanged(path); }),
    rename: then(ops.rename, async (_ok, from, to) => {
      // Every path below a renamed directory is gone or means something else now.
      const what = FORGET_NAME | FORGET_LISTING | (await isDir(to) ? FORGET_BELOW : 0);
      nameChanged(from, what);
      nameChanged(to, what);
    }),
  };
}
