// What a mounted tree answers. The read-only commit view implements the read
// half; a writable layer (overlay) implements the rest behind the same
// interface, and a missing write op is EROFS to the kernel.
import type { DirListing, Stat, StatFs, TimeSpec, FuseContext } from './types.js';
import type { CommitFs } from './commit-fs.js';

export interface ReadBackend {
  getattr(path: string): Promise<Stat>;
  readdir(path: string): Promise<DirListing>;
  readlink(path: string): Promise<string>;
  /**
   * Reads by path (and the handle, when the backend hands out handles). A
   * backend without open/release leaves both to the binding, which answers them
   * without a round trip to JS; on a frozen (read-only) mount the kernel does not
   * even send them, and reads come with handle 0.
   */
  read(path: string | null, fh: number, buf: Buffer, length: number, position: number): Promise<number>;
  open?(path: string, flags: number, ctx: FuseContext): Promise<number>;
  /** Attributes of an open file (by handle when the backend has handles; path is null once unlinked). */
  fgetattr?(path: string | null, fh: number): Promise<Stat>;
  getxattr(path: string, name: string): Promise<Buffer | null>;
  listxattr(path: string): Promise<string[]>;
  statfs(): Promise<StatFs>;
}

export interface WriteBackend {
  create?(path: string, mode: number, ctx: FuseContext): Promise<number>;
  truncate?(path: string, size: number, ctx: FuseContext): Promise<void>;
  ftruncate?(fh: number, size: number): Promise<void>;
  unlink?(path: string, ctx: FuseContext): Promise<void>;
  /** `flags`: renameat2's RENAME_NOREPLACE (1) and RENAME_EXCHANGE (2). */
  rename?(from: string, to: string, ctx: FuseContext, flags?: number): Promise<void>;
  mkdir?(path: string, mode: number, ctx: FuseContext): Promise<void>;
  rmdir?(path: string, ctx: FuseContext): Promise<void>;
  symlink?(target: string, path: string, ctx: FuseContext): Promise<void>;
  link?(existing: string, path: string, ctx: FuseContext): Promise<void>;
  chmod?(path: string, mode: number, ctx: FuseContext): Promise<void>;
  chown?(path: string, uid: number, gid: number, ctx: FuseContext): Promise<void>;
  utimens?(path: string, atime: TimeSpec, mtime: TimeSpec, ctx: FuseContext): Promise<void>;
  setxattr?(path: string, name: string, value: Buffer, flags: number, ctx: FuseContext): Promise<void>;
  removexattr?(path: string, name: string, ctx: FuseContext): Promise<void>;
  mknod?(path: string, mode: number, rdev: number, ctx: FuseContext): Promise<void>;
}

/** What a changing tree tells the mount beyond its ops. */
export interface ChangeSource {
  /** Called once at mount: report each entry an op changes besides the paths it names (a directory copied up on the way). */
  observe?(changed: (path: string) => void): void;
  /**
   * The directory that mirrors, path for path, the files whose Stat.dev names their inode:
   * the addon changes their mode, owner and times there itself.
   */
  readonly layerDir?: string;
  /** The commit under the layer (a graft's subtree is read from it). */
  readonly commitTree?: CommitFs;
  /** True when nothing at or below `path` can change: the commit's tree there, until the mount reloads. */
  untouched?(path: string): boolean;
}

export type Backend = ReadBackend & WriteBackend & ChangeSource;
