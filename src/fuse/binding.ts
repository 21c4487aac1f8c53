// The one place hacktree touches its FUSE addon (native/src/, loaded from
// native/build/Release/hacktree_fuse.node: it began as fuse-native 2.2.6 and is
// now our own code, built against libfuse 3, 64-bit inode numbers and file
// handles, separate atime/mtime with UTIME_NOW/UTIME_OMIT, caller context,
// arbitrary -o options, a native attribute cache, request counts). Everything
// else uses the types below, so the binding can be swapped without touching the
// filesystem code.
//
// Ops are path based (libfuse 3 high-level API). An op may return its result
// directly or as a promise; it fails by throwing a FuseError (or any error whose
// `code` is an errno name, e.g. what node:fs throws). Anything else becomes EIO
// and is reported to `onError`.

import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { join as joinPath, resolve as resolvePath } from 'node:path';
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
  /** Entries left out because their objects are damaged or could not be fetched: the listing is not the whole directory. */
  damaged?: number;
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
  /**
   * The mount is a booted system's /: the kernel keeps the root directory's entries and every
   * directory's attributes (native/src/requests.c boot_root_reply says why; serve.ts keeps
   * names not found as well).
   */
  bootRoot?: boolean;
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

// --- the native addon ----------------------------------------------------
//
// native/build/Release/hacktree_fuse.node (native/src/addon.c). A mount is a
// buffer the addon keeps its state in (`thread`); libfuse's threads hand each op
// that needs JS to `dispatch` (with their own locals buffer, which carries the
// caller's context), and JS answers through `fuse_native_signal`.

type Dispatch = (locals: Buffer, opcode: number, ...args: unknown[]) => void;

interface Addon {
  readonly sizeof_fuse_thread_t: number;
  fuse_native_mount(mnt: string, options: string, thread: Buffer, dispatch: Dispatch, implemented: Uint32Array,
    attrCacheMax: number, mountFlags: number, layerDir: string): void;
  fuse_native_unmount(thread: Buffer): void;
  fuse_native_signal(locals: Buffer, result: number, ...payload: unknown[]): void;
  fuse_native_cache_put(thread: Buffer, paths: readonly string[], stats: Uint32Array[], noCaps: number): void;
  fuse_native_cache_link(thread: Buffer, path: string, target: string): void;
  fuse_native_cache_content(thread: Buffer, path: string, file: string): void;
  fuse_native_cache_forget(thread: Buffer, paths: readonly string[], what: number): void;
  fuse_native_cache_clear(thread: Buffer): void;
  fuse_native_request_counts(thread: Buffer): Record<string, number>;
  /** The opcode of each op (init, and every op of FuseOps). */
  readonly [opcode: `op_${string}`]: number;
}

let addon: Addon | undefined;
function loadAddon(): Addon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require('../../native/build/Release/hacktree_fuse.node') as Addon;
  } catch (err) {
    throw new HacktreeError('MOUNT', `the FUSE addon is not built (run npm ci): ${(err as Error).message}`, { cause: err });
  }
  return addon;
}

// Mount flags (native/src/session.h MOUNT_*).
const MOUNT_MUTABLE = 1;
const MOUNT_DIRECT = 2;
const MOUNT_FROZEN = 4;
const MOUNT_DIR_ATTRS = 8;
const MOUNT_BOOT = 16;

// --- values the addon reads (native/src/convert.c) -----------------------

const TWO_32 = 4294967296;
/** `num` as two uint32s at idx, idx + 1; two's complement for a negative one (times before 1970). */
function setDoubleInt(arr: Uint32Array, idx: number, num: number): void {
  arr[idx] = num % TWO_32;
  arr[idx + 1] = (num - arr[idx]!) / TWO_32;
}
function setSplitInt(arr: Uint32Array, lowIdx: number, highIdx: number, num: number): void {
  arr[lowIdx] = num % TWO_32;
  arr[highIdx] = (num - arr[lowIdx]!) / TWO_32;
}
function toDateMS(t: number | Date | undefined): number {
  if (typeof t === 'number') return t;
  if (!t) return Date.now();
  return t.getTime();
}

/** A Stat as the addon reads it (populate_stat): 19 uint32s, ints[18] the high word of ino. */
function statArray(stat?: Stat): Uint32Array {
  const ints = new Uint32Array(19);
  ints[0] = stat?.mode || 0;
  ints[1] = stat?.uid || 0;
  ints[2] = stat?.gid || 0;
  setDoubleInt(ints, 3, stat?.size || 0);
  ints[5] = stat?.dev || 0;
  ints[6] = stat?.nlink || 1;
  setSplitInt(ints, 7, 18, stat?.ino || 0);
  ints[8] = stat?.rdev || 0;
  ints[9] = stat?.blksize || 0;
  setDoubleInt(ints, 10, stat?.blocks || 0);
  setDoubleInt(ints, 12, toDateMS(stat?.atime));
  setDoubleInt(ints, 14, toDateMS(stat?.mtime));
  setDoubleInt(ints, 16, toDateMS(stat?.ctime));
  return ints;
}

/** A StatFs as the addon reads it (populate_statvfs): the 64-bit counts have their low word at 2..7, their high word at 11..16. */
function statfsArray(statfs?: StatFs & { fsid?: number; flag?: number }): Uint32Array {
  const ints = new Uint32Array(17);
  ints[0] = statfs?.bsize || 0;
  ints[1] = statfs?.frsize || 0;
  setSplitInt(ints, 2, 11, statfs?.blocks || 0);
  setSplitInt(ints, 3, 12, statfs?.bfree || 0);
  setSplitInt(ints, 4, 13, statfs?.bavail || 0);
  setSplitInt(ints, 5, 14, statfs?.files || 0);
  setSplitInt(ints, 6, 15, statfs?.ffree || 0);
  setSplitInt(ints, 7, 16, statfs?.favail || 0);
  ints[8] = statfs?.fsid || 0;
  ints[9] = statfs?.flag || 0;
  ints[10] = statfs?.namemax || 0;
  return ints;
}

const UTIME_NOW_NSEC = 1073741823; // ((1 << 30) - 1)
const UTIME_OMIT_NSEC = 1073741822; // ((1 << 30) - 2)
function timeSpec(sec: number, nsec: number): TimeSpec {
  if (nsec === UTIME_NOW_NSEC) return UTIME_NOW;
  if (nsec === UTIME_OMIT_NSEC) return UTIME_OMIT;
  return sec * 1000 + Math.floor(nsec / 1000000);
}

/** The caller context at the start of a thread-locals buffer (uid, gid, pid, umask as uint32s). */
const contexts = new WeakMap<Buffer, Uint32Array>();
function contextOf(locals: Buffer): FuseContext {
  let c = contexts.get(locals);
  if (!c) {
    c = new Uint32Array(locals.buffer, locals.byteOffset, 4);
    contexts.set(locals, c);
  }
  return { uid: c[0]!, gid: c[1]!, pid: c[2]!, umask: c[3]! };
}

// --- the op table --------------------------------------------------------

/** What each op gets from the addon, after the locals and the opcode (native/src/ops_*.c). */
interface NativeArgs {
  getattr: [path: string];
  fgetattr: [path: string | null, fh: number];
  readdir: [path: string];
  opendir: [path: string, flags: number];
  releasedir: [path: string | null, fh: number];
  open: [path: string, flags: number];
  read: [path: string | null, fh: number, buf: Buffer, length: number, position: number];
  write: [path: string | null, fh: number, buf: Buffer, length: number, position: number];
  release: [path: string | null, fh: number];
  flush: [path: string | null, fh: number];
  fsync: [path: string | null, datasync: number, fh: number];
  readlink: [path: string];
  getxattr: [path: string, name: string, buf: Buffer];
  listxattr: [path: string, buf: Buffer];
  setxattr: [path: string, name: string, value: Buffer, flags: number];
  removexattr: [path: string, name: string];
  statfs: [path: string];
  access: [path: string, mode: number];
  create: [path: string, mode: number];
  mknod: [path: string, mode: number, rdev: number];
  mkdir: [path: string, mode: number];
  symlink: [target: string, path: string];
  link: [existing: string, path: string];
  unlink: [path: string];
  rmdir: [path: string];
  rename: [from: string, to: string];
  truncate: [path: string, size: number];
  ftruncate: [path: string | null, fh: number, size: number];
  chmod: [path: string, mode: number];
  /** (uid_t)-1 arrives as 4294967295. */
  chown: [path: string, uid: number, gid: number];
  /** UTIME_NOW / UTIME_OMIT arrive as markers in the nsec fields. */
  utimens: [path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number];
}
type OpName = keyof NativeArgs;
// Every op of FuseOps is in the table, and nothing else.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const everyOp: Same<OpName, keyof FuseOps> = true;
void everyOp;

/** What the addon takes back for an op: its result (0, a byte count or -errno), then what comes with it. */
type Answer = unknown[];
interface Reply<A> {
  /** The op's value; throwing makes it EIO (and an onError report). */
  ok(value: unknown, args: A): Answer;
  fail(errno: number, args: A): Answer;
}
interface OpSpec<N extends OpName> {
  call(op: NonNullable<FuseOps[N]>, args: NativeArgs[N], ctx: FuseContext): unknown;
  reply: Reply<NativeArgs[N]>;
}

const done: Reply<unknown> = { ok: () => [0], fail: (e) => [e] };
const attrs: Reply<unknown> = { ok: (v) => [0, statArray(v as Stat)], fail: (e) => [e, statArray()] };
const fsStats: Reply<unknown> = { ok: (v) => [0, statfsArray(v as StatFs)], fail: (e) => [e, statfsArray()] };
/** A file handle: 0 or nothing for none. */
const handle: Reply<unknown> = { ok: (v) => [0, typeof v === 'number' ? v : 0], fail: (e) => [e, 0] };
const listing: Reply<unknown> = {
  ok: (v) => {
    const l = v as DirListing;
    return [0, l.names, l.stats ? l.stats.map((st) => statArray(st)) : []];
  },
  fail: (e) => [e, [], []],
};
const target: Reply<unknown> = { ok: (v) => [0, v === undefined ? '' : v], fail: (e) => [e, ''] };
/**
 * read/write: a byte count, with the buffer the addon lent (the third argument),
 * which it detaches once answered.
 */
const count = (op: string): Reply<[unknown, unknown, Buffer, ...unknown[]]> => ({
  ok: (n, [, , buf]) => {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return [n, buf.buffer];
    throw new TypeError(`${op} returned ${String(n)}, not a byte count`);
  },
  fail: (e, [, , buf]) => [e, buf.buffer],
});
const setxattrReply: Reply<NativeArgs['setxattr']> = { ok: (_v, [, , value]) => [0, value.buffer], fail: (e, [, , value]) => [e, value.buffer] };
/** Size probes (an empty buffer) get the size; a buffer too small gets ERANGE (libfuse would reply with more bytes than it holds). */
const getxattrReply: Reply<NativeArgs['getxattr']> = {
  ok: (v, [, , buf]) => {
    const value = v as Buffer | null;
    if (!value) return [-Errno.ENODATA, buf.buffer];
    if (buf.length && value.length > buf.length) return [-Errno.ERANGE, buf.buffer];
    value.copy(buf);
    return [value.length, buf.buffer];
  },
  fail: (e, [, , buf]) => [e, buf.buffer],
};
const listxattrReply: Reply<NativeArgs['listxattr']> = {
  ok: (v, [, buf]) => {
    const list = v as string[] | null | undefined;
    if (!list) return [0, buf.buffer];
    let size = 0;
    for (const name of list) size += Buffer.byteLength(name) + 1;
    if (!buf.length) return [size, buf.buffer];
    if (size > buf.length) return [-Errno.ERANGE, buf.buffer];
    let ptr = 0;
    for (const name of list) {
      buf.write(name, ptr);
      ptr += Buffer.byteLength(name);
      buf[ptr++] = 0;
    }
    return [ptr, buf.buffer];
  },
  fail: (e, [, buf]) => [e, buf.buffer],
};

const UNSET_ID = 0xffffffff;
const id = (n: number): number => (n === UNSET_ID ? ID_UNCHANGED : n);

/** Every op: how the addon's arguments call it, and how its answer goes back. */
const OPS: { [N in OpName]: OpSpec<N> } = {
  getattr: { call: (f, [path], ctx) => f(path, ctx), reply: attrs },
  fgetattr: { call: (f, [path, fh], ctx) => f(path, fh, ctx), reply: attrs },
  readdir: { call: (f, [path], ctx) => f(path, ctx), reply: listing },
  opendir: { call: (f, [path, flags], ctx) => f(path, flags, ctx), reply: handle },
  releasedir: { call: (f, [path, fh], ctx) => f(path, fh, ctx), reply: done },
  open: { call: (f, [path, flags], ctx) => f(path, flags, ctx), reply: handle },
  read: { call: (f, [path, fh, buf, len, pos], ctx) => f(path, fh, buf, len, pos, ctx), reply: count('read') },
  write: { call: (f, [path, fh, buf, len, pos], ctx) => f(path, fh, buf, len, pos, ctx), reply: count('write') },
  release: { call: (f, [path, fh], ctx) => f(path, fh, ctx), reply: done },
  flush: { call: (f, [path, fh], ctx) => f(path, fh, ctx), reply: done },
  fsync: { call: (f, [path, datasync, fh], ctx) => f(path, fh, datasync !== 0, ctx), reply: done },
  readlink: { call: (f, [path], ctx) => f(path, ctx), reply: target },
  getxattr: { call: (f, [path, name], ctx) => f(path, name, ctx), reply: getxattrReply },
  listxattr: { call: (f, [path], ctx) => f(path, ctx), reply: listxattrReply },
  setxattr: { call: (f, [path, name, value, flags], ctx) => f(path, name, value, flags, ctx), reply: setxattrReply },
  removexattr: { call: (f, [path, name], ctx) => f(path, name, ctx), reply: done },
  statfs: { call: (f, [path], ctx) => f(path, ctx), reply: fsStats },
  access: { call: (f, [path, mode], ctx) => f(path, mode, ctx), reply: done },
  create: { call: (f, [path, mode], ctx) => f(path, mode, ctx), reply: handle },
  mknod: { call: (f, [path, mode, rdev], ctx) => f(path, mode, rdev, ctx), reply: done },
  mkdir: { call: (f, [path, mode], ctx) => f(path, mode, ctx), reply: done },
  symlink: { call: (f, [target, path], ctx) => f(target, path, ctx), reply: done },
  link: { call: (f, [existing, path], ctx) => f(existing, path, ctx), reply: done },
  unlink: { call: (f, [path], ctx) => f(path, ctx), reply: done },
  rmdir: { call: (f, [path], ctx) => f(path, ctx), reply: done },
  rename: { call: (f, [from, to], ctx) => f(from, to, ctx), reply: done },
  truncate: { call: (f, [path, size], ctx) => f(path, size, ctx), reply: done },
  ftruncate: { call: (f, [path, fh, size], ctx) => f(path, fh, size, ctx), reply: done },
  chmod: { call: (f, [path, mode], ctx) => f(path, mode, ctx), reply: done },
  chown: { call: (f, [path, uid, gid], ctx) => f(path, id(uid), id(gid), ctx), reply: done },
  utimens: { call: (f, [path, aSec, aNsec, mSec, mNsec], ctx) => f(path, timeSpec(aSec, aNsec), timeSpec(mSec, mNsec), ctx), reply: done },
};

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

type Handler = (locals: Buffer, args: unknown[]) => void;

/**
 * The addon's dispatch function for `ops`, and which opcodes it implements:
 * each op is called with the caller's context, and its value or error goes back
 * (on the next tick) as the table says; `timeoutMs` > 0 fails an op still
 * running after that long with ETIMEDOUT. `onInit` runs when the kernel's INIT
 * arrives.
 */
function dispatcher(a: Addon, ops: FuseOps, timeoutMs: number, onError: (op: string, err: unknown) => void, onInit: () => void): { dispatch: Dispatch; implemented: Uint32Array } {
  const answer = (locals: Buffer, reply: Answer): void => { process.nextTick(a.fuse_native_signal, locals, ...reply); };
  const handlers: Handler[] = [];
  const implemented = new Uint32Array(64);

  function handlerOf<N extends OpName>(name: N, spec: OpSpec<N>, f: NonNullable<FuseOps[N]>): Handler {
    return (locals, raw) => {
      const args = raw as NativeArgs[N];
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      const reply = (r: Answer): void => {
        if (answered) return;
        answered = true;
        if (timer !== undefined) clearTimeout(timer);
        answer(locals, r);
      };
      const fail = (err: unknown): void => reply(spec.reply.fail(errnoOf(err, name, onError), args));
      const succeed = (v: unknown): void => {
        let r: Answer;
        try {
          r = spec.reply.ok(v, args);
        } catch (err) {
          fail(err);
          return;
        }
        reply(r);
      };
      if (timeoutMs > 0) timer = setTimeout(() => reply(spec.reply.fail(-ERRNO.ETIMEDOUT, args)), timeoutMs);
      let r: unknown;
      try {
        r = spec.call(f, args, contextOf(locals));
      } catch (err) {
        fail(err);
        return;
      }
      if (isThenable(r)) r.then(succeed, fail);
      else succeed(r);
    };
  }

  for (const name of Object.keys(OPS) as OpName[]) {
    const op = ops[name];
    if (!op) continue;
    const opcode = a[`op_${name}`];
    if (opcode === undefined) throw new HacktreeError('MOUNT', `the FUSE addon has no op ${name} (rebuild it: npm ci)`);
    implemented[opcode] = 1;
    handlers[opcode] = handlerOf(name, OPS[name] as OpSpec<typeof name>, (op as (...args: never[]) => unknown).bind(ops) as never);
  }
  implemented[a.op_init] = 1;
  handlers[a.op_init] = (locals) => {
    onInit();
    answer(locals, [0]);
  };
  // The addon asks only for the ops marked implemented.
  const dispatch: Dispatch = (locals, opcode, ...args) => {
    const h = handlers[opcode];
    if (h) h(locals, args);
    else answer(locals, [-Errno.ENOSYS]);
  };
  return { dispatch, implemented };
}

// --- mounting ------------------------------------------------------------

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

/**
 * The options as libfuse's argument: "-oa,b,..." or "". `debug` (libfuse logs every
 * request) also with DEBUG=* in the environment, as fuse-native did.
 */
function fuseArgument(o: MountOptions): string {
  const list: string[] = [];
  if (/\*|(^,)fuse-bindings(,$)/.test(process.env.DEBUG ?? '') || o.debug) list.push('debug');
  for (const opt of optionList(o)) if (opt) list.push(String(opt));
  return list.length ? `-o${list.join(',')}` : '';
}

/** ChangeSource.layerDir, checked: the binding keeps it in a PATH_MAX buffer, and a cut path would be another. */
function layerDirOf(c: ChangeSource): string {
  const dir = c.layerDir ?? '';
  if (dir !== '' && (!dir.startsWith('/') || Buffer.byteLength(dir) >= 4000)) throw new HacktreeError('MOUNT', `bad layer directory: ${dir}`);
  return dir;
}

/** The mountpoint must be a directory (made first with `mkdir`) and not a mount already. */
async function checkMountpoint(mnt: string, mkdir: boolean): Promise<void> {
  let st: Stats;
  try {
    st = await fsp.stat(mnt);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!mkdir) throw new Error('Mountpoint does not exist');
    await fsp.mkdir(mnt, { recursive: true });
    st = await fsp.stat(mnt);
  }
  if (!st.isDirectory()) throw new Error('Mountpoint is not a directory');
  const parent = await fsp.stat(joinPath(mnt, '..')).catch(() => undefined);
  if (parent && parent.dev !== st.dev) throw new Error('Mountpoint in use');
}

/** `fusermount -uz` (lazy: the kernel lets go of the mount at once, open files keep it); fusermount3 where there is no fusermount. */
function fusermountLazy(mnt: string): Promise<void> {
  const run = (tool: string): Promise<void> => new Promise((res, rej) => {
    execFile(tool, ['-uz', mnt], (err: Error | null) => (err ? rej(err) : res()));
  });
  return run('fusermount').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return run('fusermount3');
    throw err;
  });
}

/** Mounts `ops` at `mountpoint`; resolves once the kernel has sent INIT. */
export function mount(mountpoint: string, ops: FuseOps, options: MountOptions = {}): Promise<FuseMount> {
  const a = loadAddon();
  const mnt = resolvePath(mountpoint);
  const onError = options.onError ?? ((op: string, err: unknown) => {
    process.stderr.write(`hacktree fuse: ${op} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  });
  const attrCache = options.attrCache ?? 0;
  if (!Number.isSafeInteger(attrCache) || attrCache < 0 || attrCache > 2 ** 30) {
    throw new HacktreeError('MOUNT', `bad attrCache: ${attrCache}`);
  }
  // The addon's state of this mount; it lives as long as the process.
  const thread = Buffer.alloc(a.sizeof_fuse_thread_t);
  // The native cache's methods are no-ops without it.
  const cachePut = (paths: readonly string[], stats: readonly Stat[], noCaps: boolean): void => {
    if (attrCache > 0) a.fuse_native_cache_put(thread, paths, stats.map((st) => statArray(st)), noCaps ? 1 : 0);
  };
  const forget: Forget = (paths, what) => {
    if (attrCache > 0) a.fuse_native_cache_forget(thread, paths, what);
  };
  const publish = (path: string, st: Stat, noCaps: boolean): void => cachePut([path], [st], noCaps);
  const changes = attrCache > 0 ? options.changes : undefined;
  if (options.frozen && (!options.readOnly || options.changes)) throw new HacktreeError('MOUNT', 'a frozen mount must be read-only and unchanging');
  // false/unset: no timeout; 0 was fuse-native's default of 15 s.
  const timeoutMs = options.timeoutMs === false || options.timeoutMs === undefined ? 0 : (options.timeoutMs || 15_000);
  let onInit = (): void => {};
  const { dispatch, implemented } = dispatcher(a, changes ? keepCoherent(ops, changes, forget, publish) : ops, timeoutMs, onError, () => onInit());
  const argument = fuseArgument(options);
  const layerDir = changes && options.directHandles ? layerDirOf(changes) : '';
  const flags = (changes !== undefined ? MOUNT_MUTABLE : 0) | (options.directHandles ? MOUNT_DIRECT : 0) |
    (options.frozen ? MOUNT_FROZEN : 0) | ((options.kernelDirAttrs ?? false) && changes !== undefined ? MOUNT_DIR_ATTRS : 0) |
    (options.bootRoot ? MOUNT_BOOT : 0);

  let unmounting: Promise<void> | undefined;
  const mounted: FuseMount = {
    mountpoint: mnt,
    cacheAttrs(paths: readonly string[], stats: readonly Stat[]): void {
      if (paths.length !== stats.length) throw new TypeError('cacheAttrs: paths and stats differ in length');
      cachePut(paths, stats, false);
    },
    cacheLink(path: string, target: string): void {
      if (attrCache > 0) a.fuse_native_cache_link(thread, path, target);
    },
    cacheContent(path: string, file: string): void {
      if (attrCache > 0) a.fuse_native_cache_content(thread, path, file);
    },
    clearCache(): void {
      if (attrCache > 0) a.fuse_native_cache_clear(thread);
    },
    requestCounts(): Record<string, number> {
      return a.fuse_native_request_counts(thread);
    },
    unmount(): Promise<void> {
      unmounting ??= (async () => {
        try {
          await fusermountLazy(mnt);
          a.fuse_native_unmount(thread);
        } catch (e) {
          throw new HacktreeError('MOUNT', `cannot unmount ${mnt}: ${(e as Error).message}`, { cause: e });
        }
      })();
      return unmounting;
    },
  };

  return new Promise<FuseMount>((resolve, reject) => {
    const failed = (err: Error): void => reject(new HacktreeError('MOUNT', `cannot mount FUSE filesystem at ${mnt}: ${err.message}`, { cause: err }));
    checkMountpoint(mnt, options.mkdir ?? false).then(() => {
      onInit = () => resolve(mounted);
      try {
        a.fuse_native_mount(mnt, argument, thread, dispatch, implemented, attrCache, flags, layerDir);
      } catch (err) {
        failed(err as Error);
      }
    }, failed);
  });
}
