// The types every part of src/fuse/ speaks: errors with an errno, attributes, listings, the
// caller's context, and a mount. The addon itself is native/ll/ (its face: ll/binding.ts).
import { constants as osConstants } from 'node:os';

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
 * the addon); `ino` must be a safe integer (it reaches the kernel in full).
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
  /** Times in ms since 1970 (a double: 0.24 µs coarse today). */
  atime: number;
  mtime: number;
  ctime: number;
  /** The same three to the nanosecond, where the file system has them (a layer file): what the kernel is told. */
  ns?: readonly [atime: bigint, mtime: bigint, ctime: bigint];
  /**
   * Never shown to the kernel (FUSE has no device field); it tells the addon about the file: STABLE_CONTENT (its content never
   * changes under this name), LAYER_ONLY_DIR, or the low 32 bits of the inode
   * number of its real file in the layer directory, which the addon may then
   * change itself (writes through its handle, chmod, chown, utimens).
   */
  dev?: number;
}

/**
 * A handle DIRECT_FH + fd is a file descriptor of the file itself: the addon reads, writes
 * and closes it without calling JS (which must never close it). A handle of 0 needs nothing
 * at release.
 */
export const DIRECT_FH = 2 ** 52;
/** Stat.dev of a regular file whose content never changes: opened read-only by the addon (handle 0). */
export const STABLE_CONTENT = 0xffffffff;
/**
 * Stat.dev of a directory only the layer has: a name in it exists exactly when
 * the layer directory + its path does, so the addon answers "no such name"
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

/** How many times the kernel called each op. */
export type OpCounts = Record<string, number>;

export interface FuseMount {
  readonly mountpoint: string;
  /**
   * Publishes `file`, a real file whose bytes are the content of the regular file `path` and
   * that the caller has checked: the addon then reads it itself for every read of `path`.
   * On a root's mount it is kept only while the path is still the commit's.
   */
  cacheContent(path: string, file: string): void;
  /** Requests the kernel has sent so far, by opcode name (lookup, getattr, open, read, readdirplus, ...). */
  requestCounts(): Record<string, number>;
  /** Lazy unmount; safe to call more than once. */
  unmount(): Promise<void>;
}
