// The one place hacktree touches its FUSE addon (native/: it began as
// fuse-native 2.2.6 and is now our own code, built against libfuse 3, 64-bit
// inode numbers and file handles, separate atime/mtime with UTIME_NOW/UTIME_OMIT,
// caller context, arbitrary -o options, a native attribute cache, request
// counts). Everything else uses the types below, so the binding can be swapped
// without touching the filesystem code.
//
// Ops are path based (libfuse 3 high-level API). An op may return its result
// directly or as a promise; it fails by throwing a FuseError (or any error whose
// `code` is an errno name, e.g. what node:fs throws). Anything else becomes EIO
// and is reported to `onError`.

import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { HacktreeError } from '../errors.js';
import { keepCoherent, type ChangeSource, type Forget } from './cache-coherence.js';

const ERRNO = osConstants.errno;

/** Positive errno values (Linux). */
export const Errno = {
  EPERM: ERRNO.EPERM,
  ENOENT: ERRNO.ENOENT,
  EIO: ERRNO.EIO,
  ENXIO: ERRNO.ENXIO,
  EBADF: ERRNO.EBADF,
  EAGAIN: ERRNO.EAGAIN,
  ENOMEM: ERRNO.ENOMEM,
  EACCES: ERRNO.EACCES,
  EBUSY: ERRNO.EBUSY,
  EEXIST: ERRNO.EEXIST,
  EXDEV: ERRNO.EXDEV,
  ENOTDIR: ERRNO.ENOTDIR,
  EISDIR: ERRNO.EISDIR,
  EINVAL: ERRNO.EINVAL,
  EFBIG: ERRNO.EFBIG,
  ENOSPC: ERRNO.ENOSPC,
  EROFS: ERRNO.EROFS,
  EMLINK: ERRNO.EMLINK,
  ERANGE: ERRNO.ERANGE,
  ENAMETOOLONG: ERRNO.ENAMETOOLONG,
  ENOSYS: ERRNO.ENOSYS,
  ENOTEMPTY: ERRNO.ENOTEMPTY,
  ELOOP: ERRNO.ELOOP,
  ENODATA: ERRNO.ENODATA,
  EOVERFLOW: ERRNO.EOVERFLOW,
  EOPNOTSUPP: ERRNO.EOPNOTSUPP,
  ENOTSUP: ERRNO.ENOTSUP,
} as const;
export type ErrnoName = keyof typeof Errno;

/** Throw this from an op to fail it with a specific errno. */
export class FuseError extends Error {
  readonly errno: number;
  constructor(readonly code: ErrnoName, message?: string) {
    super(message ?? code);
    this.name = 'FuseError';
    this.errno = Errno[code];
  }

  private static readonly shared = new Map<ErrnoName, FuseError>();

  /** A shared instance per code: such errors only carry an errno, and a miss should not cost a stack trace. */
  static of(code: ErrnoName): FuseError {
    let e = FuseError.shared.get(code);
    if (!e) { e = new FuseError(code); FuseError.shared.set(code, e); }
    return e;
  }
}

/** Who issued the request (fuse_get_context()). */
export interface FuseContext {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  readonly umask: number;
}

/**
 * File attributes. Times are milliseconds since the epoch (sub-ms is dropped by
 * the binding); `ino` must be a safe integer (it reaches the kernel in full with
 * the `useIno` mount option).
 */
export interface Stat {
  mode: number;
  ino: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  rdev?: number;
  blksize?: number;
  blocks?: number;
  atime: number;
  mtime: number;
  ctime: number;
  /**
   * Never shown to the kernel (FUSE has no device field); with `directHandles`
   * it tells the binding about the file: STABLE_CONTENT (its content never
   * changes under this name), LAYER_ONLY_DIR, or the low 32 bits of the inode
   * number of its real file in ChangeSource.layerDir, which it may then change
   * itself (writes through a direct handle, chmod, chown, utimens), its cached
   * attributes following.
   */
  dev?: number;
}

/**
 * With `directHandles`, a handle DIRECT_FH + fd is a file descriptor of the file
 * itself: the binding reads, writes and closes it without calling JS (which
 * must never close it). A handle of 0 needs nothing at release.
 */
export const DIRECT_FH = 2 ** 52;
/** Stat.dev of a regular file whose content never changes: opened read-only by the binding (handle 0). */
export const STABLE_CONTENT = 0xffffffff;
/**
 * Stat.dev of a directory only the layer has: a name in it exists exactly when
 * ChangeSource.layerDir + its path does, so the binding answers "no such name"
 * itself (except libfuse's own .fuse_hidden* names).
 */
export const LAYER_ONLY_DIR = 0xfffffffe;

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  namemax: number;
}

/** `names[i]` has attributes `stats[i]`; give stats for every name or none. */
export interface DirListing {
  names: string[];
  stats?: Stat[];
}

export const UTIME_NOW = 'now';
export const UTIME_OMIT = 'omit';
/** A utimens time: ms since the epoch, "set to now", or "leave unchanged". */
export type TimeSpec = number | typeof UTIME_NOW | typeof UTIME_OMIT;

/** Uid/gid that chown leaves unchanged ((uid_t) -1). */
export const ID_UNCHANGED = -1;

type R<T> = T | PromiseLike<T>;

/**
 * Path based ops; every op gets the caller context last. Unset ops fail with ENOSYS.
 * Ops that take a handle get a null path for an open file whose name is gone
 * (mounted with hard_remove): they must work from the handle.
 */
export interface FuseOps {
  getattr(path: string, ctx: FuseContext): R<Stat>;
  /** getattr on an open file; falls back to getattr when absent. */
  fgetattr?(path: string | null, fh: number, ctx: FuseContext): R<Stat>;
  readdir?(path: string, ctx: FuseContext): R<DirListing>;
  opendir?(path: string, flags: number, ctx: FuseContext): R<number | void>;
  releasedir?(path: string | null, fh: number, ctx: FuseContext): R<void>;
  /** Returns the file handle (0 or nothing for none). */
  open?(path: string, flags: number, ctx: FuseContext): R<number | void>;
  /** Fill `buf` (valid only until the promise settles) and return the byte count. */
  read?(path: string | null, fh: number, buf: Buffer, length: number, position: number, ctx: FuseContext): R<number>;
  /** `buf` is valid only until the promise settles: copy what you keep. */
  write?(path: string | null, fh: number, buf: Buffer, length: number, position: number, ctx: FuseContext): R<number>;
  release?(path: string | null, fh: number, ctx: FuseContext): R<void>;
  flush?(path: string | null, fh: number, ctx: FuseContext): R<void>;
  fsync?(path: string | null, fh: number, datasync: boolean, ctx: FuseContext): R<void>;
  readlink?(path: string, ctx: FuseContext): R<string>;
  /** Return the value, or null for ENODATA. Size probes are handled for you. */
  getxattr?(path: string, name: string, ctx: FuseContext): R<Buffer | null>;
  listxattr?(path: string, ctx: FuseContext): R<string[]>;
  /** `value` is valid only until the promise settles. flags: XATTR_CREATE=1, XATTR_REPLACE=2. */
  setxattr?(path: string, name: string, value: Buffer, flags: number, ctx: FuseContext): R<void>;
  removexattr?(path: string, name: string, ctx: FuseContext): R<void>;
  statfs?(path: string, ctx: FuseContext): R<StatFs>;
  access?(path: string, mode: number, ctx: FuseContext): R<void>;
  /** Create and open a regular file; returns the file handle. `mode` includes S_IFREG. */
  create?(path: string, mode: number, ctx: FuseContext): R<number | void>;
  mknod?(path: string, mode: number, rdev: number, ctx: FuseContext): R<void>;
  mkdir?(path: string, mode: number, ctx: FuseContext): R<void>;
  /** `target` is the link's content, `path` the new link. */
  symlink?(target: string, path: string, ctx: FuseContext): R<void>;
  link?(existing: string, path: string, ctx: FuseContext): R<void>;
  unlink?(path: string, ctx: FuseContext): R<void>;
  rmdir?(path: string, ctx: FuseContext): R<void>;
  rename?(from: string, to: string, ctx: FuseContext): R<void>;
  truncate?(path: string, size: number, ctx: FuseContext): R<void>;
  ftruncate?(path: string | null, fh: number, size: number, ctx: FuseContext): R<void>;
  chmod?(path: string, mode: number, ctx: FuseContext): R<void>;
  /** uid/gid are ID_UNCHANGED (-1) when that half is not changed. */
  chown?(path: string, uid: number, gid: number, ctx: FuseContext): R<void>;
  utimens?(path: string, atime: TimeSpec, mtime: TimeSpec, ctx: FuseContext): R<void>;
}

export interface MountOptions {
  fsname?: string;
  subtype?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  defaultPermissions?: boolean;
  /** Report our st_ino to the kernel (getattr and readdir) instead of libfuse's own numbers. */
  useIno?: boolean;
  /** Honour setuid bits / device nodes (the kernel default for FUSE is nosuid,nodev). */
  suid?: boolean;
  dev?: boolean;
  kernelCache?: boolean;
  /** Seconds; 0 is allowed. */
  entryTimeout?: number;
  attrTimeout?: number;
  negativeTimeout?: number;
  /** Raw extra `-o` options, e.g. ['max_read=131072']. */
  options?: string[];
  /** Create the mountpoint if missing. */
  mkdir?: boolean;
  /** Fail an op with ETIMEDOUT after this long; false (default) never times out. */
  timeoutMs?: number | false;
  debug?: boolean;
  /**
   * Max entries of the native attribute cache; 0 or unset: off. When on, the
   * stats a readdir returns (and whatever cacheAttrs/cacheLink publish) answer
   * later getattr/fgetattr/readlink of those paths on the libfuse thread,
   * without calling the ops: a round trip into JS costs ~100 µs. Each listing
   * a readdir returns is kept too (its entries count against a second bound
   * of the same size) and answers the next readdir of that directory. The
   * answers JS gives to getattr, fgetattr and to getxattr of
   * security.capability (absent) are kept too.
   */
  attrCache?: number;
  /**
   * The tree changes (a writable layer). The binding then forgets what each
   * changing op touched before answering it (cache-coherence.ts), keeps no
   * answer computed while a forget happened, and never keeps a file with
   * several names; the tree reports what else changes.
   */
  changes?: ChangeSource;
  /** Handles DIRECT_FH + fd and files marked STABLE_CONTENT are served by the binding (see DIRECT_FH). */
  directHandles?: boolean;
  /**
   * A read-only mount (needs readOnly, not changes) of a tree that never changes: the
   * kernel keeps file pages, directory listings and symlink targets for the mount's
   * life, whatever clearCache() does. The kernel opens files and directories by itself
   * (open/opendir are never called: read gets handle 0 and must work by path), asks for
   * each symlink target once, and gets each listing's attributes with it (READDIRPLUS),
   * so a walk sends no lookup per entry.
   */
  frozen?: boolean;
  /**
   * With `changes`: the kernel keeps a directory's attributes for a second
   * (files' stay uncached: each name of a hard link is a node of its own). The
   * kernel drops them itself when an entry of the directory changes, and takes
   * a change of the directory's own from its reply; so this spares the GETATTR
   * of a permission check on every component of every path walked.
   */
  kernelDirAttrs?: boolean;
  /** Called for an op that failed with something other than FuseError / an errno error (it returns EIO). */
  onError?: (op: string, err: unknown) => void;
}

export interface FuseMount {
  readonly mountpoint: string;
  /**
   * Publishes what getattr would answer for `paths[i]` (the attrCache option;
   * a no-op without it). Readdir stats are published without this.
   */
  cacheAttrs(paths: readonly string[], stats: readonly Stat[]): void;
  /**
   * Publishes what readlink would answer for `path` (attrCache; a no-op without it).
   * With `changes`, it is kept only while the path's cached attributes are a
   * symlink's carrying STABLE_CONTENT (one that cannot change under its name).
   */
  cacheLink(path: string, target: string): void;
  /**
   * Publishes `file`, a real file whose bytes are the content of the regular
   * file `path` and that the caller has checked: the binding then reads it for
   * every read of `path` through a handle of 0 on the libfuse thread (attrCache;
   * a no-op without it). Any forget of the path's attributes forgets it. With
   * `changes`, it is kept only while the path's cached attributes carry
   * STABLE_CONTENT, so a read that finishes after a copy-up cannot publish it.
   */
  cacheContent(path: string, file: string): void;
  /** Forgets everything published, directory listings included (attrCache; a no-op without it). */
  clearCache(): void;
  /** Requests the kernel has sent so far, by opcode name (lookup, getattr, open, read, readdirplus, ...). */
  requestCounts(): Record<string, number>;
  /** Lazy unmount; safe to call more than once. */
  unmount(): Promise<void>;
}

// --- the native binding --------------------------------------------------

type Done = (err: number, ...results: unknown[]) => void;
type NativeOp = (...args: never[]) => void;

interface NativeFuse {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  context(): FuseContext | null;
  cachePut(paths: readonly string[], stats: readonly Stat[], noCaps?: boolean): void;
  cacheLink(path: string, target: string): void;
  cacheContent(path: string, file: string): void;
  clearCache(): void;
  cacheForget(paths: readonly string[], what: number): void;
  requestCounts(): Record<string, number>;
}

interface NativeFuseClass {
  new (mnt: string, ops: Record<string, NativeOp>, opts: Record<string, unknown>): NativeFuse;
  readonly UTIME_NOW: string;
  readonly UTIME_OMIT: string;
}

let nativeClass: NativeFuseClass | undefined;
function loadNative(): NativeFuseClass {
  if (nativeClass) return nativeClass;
  const require = createRequire(import.meta.url);
  try {
    nativeClass = require('../../native/fuse.cjs') as NativeFuseClass;
  } catch (err) {
    throw new HacktreeError('MOUNT', `the FUSE addon is not built (run npm ci): ${(err as Error).message}`, { cause: err });
  }
  return nativeClass;
}

const NO_CONTEXT: FuseContext = Object.freeze({ uid: 0, gid: 0, pid: 0, umask: 0 });
const UNSET_ID = 0xffffffff;

function errnoOf(err: unknown, op: string, onError: (op: string, err: unknown) => void): number {
  if (err instanceof FuseError) return -err.errno;
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRNO, code)) {
      return -(ERRNO as Record<string, number>)[code]!;
    }
  }
  onError(op, err);
  return -Errno.EIO;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Builds the callback-style op table that fuse-native calls. */
function nativeOps(ops: FuseOps, ctxOf: () => FuseContext, onError: (op: string, err: unknown) => void): Record<string, NativeOp> {
  const table: Record<string, NativeOp> = {};

  // Runs `fn`, then reports (0, result) or (-errno) through `done`.
  function settle(op: string, done: Done, fn: () => unknown): void {
    let r: unknown;
    try {
      r = fn();
    } catch (err) {
      done(errnoOf(err, op, onError));
      return;
    }
    if (isThenable(r)) r.then((v) => done(0, v), (err: unknown) => done(errnoOf(err, op, onError)));
    else done(0, r);
  }
  // read/write report a byte count or -errno in the first argument.
  function settleCount(op: string, cb: (n: number) => void, fn: () => R<number>): void {
    settle(op, (err, n) => {
      if (err !== 0) cb(err);
      else if (typeof n === 'number' && Number.isInteger(n) && n >= 0) cb(n);
      else cb(errnoOf(new TypeError(`${op} returned ${String(n)}, not a byte count`), op, onError));
    }, fn);
  }
  const handle = (v: unknown): number => (typeof v === 'number' ? v : 0);

  const o = ops;
  table.getattr = ((path: string, cb: Done) => {
    const ctx = ctxOf();
    settle('getattr', cb, () => o.getattr(path, ctx));
  }) as NativeOp;
  if (o.fgetattr) {
    const f = o.fgetattr.bind(o);
    table.fgetattr = ((path: string, fh: number, cb: Done) => {
      const ctx = ctxOf();
      settle('fgetattr', cb, () => f(path, fh, ctx));
    }) as NativeOp;
  }
  if (o.readdir) {
    const f = o.readdir.bind(o);
    table.readdir = ((path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('readdir', (err, v) => {
        if (err !== 0) return cb(err);
        const l = v as DirListing;
        cb(0, l.names, l.stats);
      }, () => f(path, ctx));
    }) as NativeOp;
  }
  if (o.opendir) {
    const f = o.opendir.bind(o);
    table.opendir = ((path: string, flags: number, cb: Done) => {
      const ctx = ctxOf();
      settle('opendir', (err, fh) => cb(err, handle(fh)), () => f(path, flags, ctx));
    }) as NativeOp;
  }
  if (o.releasedir) {
    const f = o.releasedir.bind(o);
    table.releasedir = ((path: string, fh: number, cb: Done) => {
      const ctx = ctxOf();
      settle('releasedir', cb, () => f(path, fh, ctx));
    }) as NativeOp;
  }
  if (o.open) {
    const f = o.open.bind(o);
    table.open = ((path: string, flags: number, cb: Done) => {
      const ctx = ctxOf();
      settle('open', (err, fh) => cb(err, handle(fh)), () => f(path, flags, ctx));
    }) as NativeOp;
  }
  if (o.read) {
    const f = o.read.bind(o);
    table.read = ((path: string, fh: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      const ctx = ctxOf();
      settleCount('read', cb, () => f(path, fh, buf, len, pos, ctx));
    }) as NativeOp;
  }
  if (o.write) {
    const f = o.write.bind(o);
    table.write = ((path: string, fh: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      const ctx = ctxOf();
      settleCount('write', cb, () => f(path, fh, buf, len, pos, ctx));
    }) as NativeOp;
  }
  if (o.release) {
    const f = o.release.bind(o);
    table.release = ((path: string, fh: number, cb: Done) => {
      const ctx = ctxOf();
      settle('release', cb, () => f(path, fh, ctx));
    }) as NativeOp;
  }
  if (o.flush) {
    const f = o.flush.bind(o);
    table.flush = ((path: string, fh: number, cb: Done) => {
      const ctx = ctxOf();
      settle('flush', cb, () => f(path, fh, ctx));
    }) as NativeOp;
  }
  if (o.fsync) {
    const f = o.fsync.bind(o);
    table.fsync = ((path: string, datasync: number, fh: number, cb: Done) => {
      const ctx = ctxOf();
      settle('fsync', cb, () => f(path, fh, datasync !== 0, ctx));
    }) as NativeOp;
  }
  if (o.readlink) {
    const f = o.readlink.bind(o);
    table.readlink = ((path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('readlink', cb, () => f(path, ctx));
    }) as NativeOp;
  }
  if (o.getxattr) {
    const f = o.getxattr.bind(o);
    table.getxattr = ((path: string, name: string, _position: number, cb: Done) => {
      const ctx = ctxOf();
      settle('getxattr', cb, () => f(path, name, ctx));
    }) as NativeOp;
  }
  if (o.listxattr) {
    const f = o.listxattr.bind(o);
    table.listxattr = ((path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('listxattr', cb, () => f(path, ctx));
    }) as NativeOp;
  }
  if (o.setxattr) {
    const f = o.setxattr.bind(o);
    table.setxattr = ((path: string, name: string, value: Buffer, _position: number, flags: number, cb: Done) => {
      const ctx = ctxOf();
      settle('setxattr', cb, () => f(path, name, value, flags, ctx));
    }) as NativeOp;
  }
  if (o.removexattr) {
    const f = o.removexattr.bind(o);
    table.removexattr = ((path: string, name: string, cb: Done) => {
      const ctx = ctxOf();
      settle('removexattr', cb, () => f(path, name, ctx));
    }) as NativeOp;
  }
  if (o.statfs) {
    const f = o.statfs.bind(o);
    table.statfs = ((path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('statfs', cb, () => f(path, ctx));
    }) as NativeOp;
  }
  if (o.access) {
    const f = o.access.bind(o);
    table.access = ((path: string, mode: number, cb: Done) => {
      const ctx = ctxOf();
      settle('access', cb, () => f(path, mode, ctx));
    }) as NativeOp;
  }
  if (o.create) {
    const f = o.create.bind(o);
    table.create = ((path: string, mode: number, cb: Done) => {
      const ctx = ctxOf();
      settle('create', (err, fh) => cb(err, handle(fh)), () => f(path, mode, ctx));
    }) as NativeOp;
  }
  if (o.mknod) {
    const f = o.mknod.bind(o);
    table.mknod = ((path: string, mode: number, rdev: number, cb: Done) => {
      const ctx = ctxOf();
      settle('mknod', cb, () => f(path, mode, rdev, ctx));
    }) as NativeOp;
  }
  if (o.mkdir) {
    const f = o.mkdir.bind(o);
    table.mkdir = ((path: string, mode: number, cb: Done) => {
      const ctx = ctxOf();
      settle('mkdir', cb, () => f(path, mode, ctx));
    }) as NativeOp;
  }
  if (o.symlink) {
    const f = o.symlink.bind(o);
    table.symlink = ((target: string, path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('symlink', cb, () => f(target, path, ctx));
    }) as NativeOp;
  }
  if (o.link) {
    const f = o.link.bind(o);
    table.link = ((existing: string, path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('link', cb, () => f(existing, path, ctx));
    }) as NativeOp;
  }
  if (o.unlink) {
    const f = o.unlink.bind(o);
    table.unlink = ((path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('unlink', cb, () => f(path, ctx));
    }) as NativeOp;
  }
  if (o.rmdir) {
    const f = o.rmdir.bind(o);
    table.rmdir = ((path: string, cb: Done) => {
      const ctx = ctxOf();
      settle('rmdir', cb, () => f(path, ctx));
    }) as NativeOp;
  }
  if (o.rename) {
    const f = o.rename.bind(o);
    table.rename = ((from: string, to: string, cb: Done) => {
      const ctx = ctxOf();
      settle('rename', cb, () => f(from, to, ctx));
    }) as NativeOp;
  }
  if (o.truncate) {
    const f = o.truncate.bind(o);
    table.truncate = ((path: string, size: number, cb: Done) => {
      const ctx = ctxOf();
      settle('truncate', cb, () => f(path, size, ctx));
    }) as NativeOp;
  }
  if (o.ftruncate) {
    const f = o.ftruncate.bind(o);
    table.ftruncate = ((path: string, fh: number, size: number, cb: Done) => {
      const ctx = ctxOf();
      settle('ftruncate', cb, () => f(path, fh, size, ctx));
    }) as NativeOp;
  }
  if (o.chmod) {
    const f = o.chmod.bind(o);
    table.chmod = ((path: string, mode: number, cb: Done) => {
      const ctx = ctxOf();
      settle('chmod', cb, () => f(path, mode, ctx));
    }) as NativeOp;
  }
  if (o.chown) {
    const f = o.chown.bind(o);
    table.chown = ((path: string, uid: number, gid: number, cb: Done) => {
      const ctx = ctxOf();
      // the binding hands (uid_t)-1 over as 4294967295
      settle('chown', cb, () => f(path, uid === UNSET_ID ? ID_UNCHANGED : uid, gid === UNSET_ID ? ID_UNCHANGED : gid, ctx));
    }) as NativeOp;
  }
  if (o.utimens) {
    const f = o.utimens.bind(o);
    table.utimens = ((path: string, atime: TimeSpec, mtime: TimeSpec, cb: Done) => {
      const ctx = ctxOf();
      settle('utimens', cb, () => f(path, atime, mtime, ctx));
    }) as NativeOp;
  }
  return table;
}

function optionList(o: MountOptions): string[] {
  const list: string[] = [];
  const seconds = (name: string, v: number | undefined): void => {
    if (v === undefined) return;
    if (!Number.isFinite(v) || v < 0) throw new HacktreeError('MOUNT', `bad ${name}: ${v}`);
    list.push(`${name}=${v}`);
  };
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
  if (o.fsname !== undefined) list.push(`fsname=${escape(o.fsname)}`);
  if (o.subtype !== undefined) list.push(`subtype=${escape(o.subtype)}`);
  if (o.readOnly) list.push('ro');
  if (o.allowOther) list.push('allow_other');
  if (o.defaultPermissions) list.push('default_permissions');
  if (o.useIno) list.push('use_ino');
  if (o.suid) list.push('suid');
  if (o.dev) list.push('dev');
  if (o.kernelCache) list.push('kernel_cache');
  seconds('entry_timeout', o.entryTimeout);
  seconds('attr_timeout', o.attrTimeout);
  seconds('negative_timeout', o.negativeTimeout);
  if (o.options) list.push(...o.options);
  return list;
}

/** ChangeSource.layerDir, checked: the binding keeps it in a PATH_MAX buffer, and a cut path would be another. */
function layerDirOf(c: ChangeSource): string {
  const dir = c.layerDir ?? '';
  if (dir !== '' && (!dir.startsWith('/') || Buffer.byteLength(dir) >= 4000)) throw new HacktreeError('MOUNT', `bad layer directory: ${dir}`);
  return dir;
}

/** Mounts `ops` at `mountpoint`; resolves once the kernel has sent INIT. */
export function mount(mountpoint: string, ops: FuseOps, options: MountOptions = {}): Promise<FuseMount> {
  const Native = loadNative();
  const mnt = resolvePath(mountpoint);
  const onError = options.onError ?? ((op: string, err: unknown) => {
    process.stderr.write(`hacktree fuse: ${op} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  });
  const attrCache = options.attrCache ?? 0;
  if (!Number.isSafeInteger(attrCache) || attrCache < 0 || attrCache > 2 ** 30) {
    throw new HacktreeError('MOUNT', `bad attrCache: ${attrCache}`);
  }
  let fuse: NativeFuse | undefined;
  const ctxOf = (): FuseContext => fuse?.context() ?? NO_CONTEXT;
  // Bound before the kernel can send the first op.
  const forget: Forget = (paths, what) => fuse?.cacheForget(paths, what);
  const publish = (path: string, st: Stat, noCaps: boolean): void => fuse?.cachePut([path], [st], noCaps);
  const changes = attrCache > 0 ? options.changes : undefined;
  if (options.frozen && (!options.readOnly || options.changes)) throw new HacktreeError('MOUNT', 'a frozen mount must be read-only and unchanging');
  fuse = new Native(mnt, nativeOps(changes ? keepCoherent(ops, changes, forget, publish) : ops, ctxOf, onError), {
    options: optionList(options),
    mkdir: options.mkdir ?? false,
    timeout: options.timeoutMs ?? false,
    utimeOmitOk: true, // utimens gets UTIME_NOW/UTIME_OMIT, and single-time changes (touch -m) at all
    debug: options.debug ?? false,
    attrCache,
    attrCacheMutable: changes !== undefined,
    directHandles: options.directHandles ?? false,
    layerDir: changes && options.directHandles ? layerDirOf(changes) : '',
    frozen: options.frozen ?? false,
    dirAttrs: (options.kernelDirAttrs ?? false) && changes !== undefined,
  });
  const f = fuse;

  return new Promise<FuseMount>((resolve, reject) => {
    f.mount((err) => {
      if (err) {
        reject(new HacktreeError('MOUNT', `cannot mount FUSE filesystem at ${mnt}: ${err.message}`, { cause: err }));
        return;
      }
      let unmounting: Promise<void> | undefined;
      resolve({
        mountpoint: mnt,
        cacheAttrs(paths: readonly string[], stats: readonly Stat[]): void {
          if (paths.length !== stats.length) throw new TypeError('cacheAttrs: paths and stats differ in length');
          f.cachePut(paths, stats);
        },
        cacheLink(path: string, target: string): void {
          f.cacheLink(path, target);
        },
        cacheContent(path: string, file: string): void {
          f.cacheContent(path, file);
        },
        clearCache(): void {
          f.clearCache();
        },
        requestCounts(): Record<string, number> {
          return f.requestCounts();
        },
        unmount(): Promise<void> {
          unmounting ??= new Promise<void>((res, rej) => {
            f.unmount((e) => (e ? rej(new HacktreeError('MOUNT', `cannot unmount ${mnt}: ${e.message}`, { cause: e })) : res()));
          });
          return unmounting;
        },
      });
    });
  });
}
