// What the layer needs of the commit under it. Whoever serves a root supplies
// it (the mount passes its read-only view of the commit), so the layer holds
// the rules without depending on how the commit is read.
import type { Xattrs } from '../store/objects/types.js';

export interface BaseMeta {
  uid: number;
  gid: number;
  /** Full st_mode. */
  mode: number;
  xattrs: Xattrs;
}

/** An entry of the commit: a directory, or a file or symlink (by its mode). */
export type BaseNode =
  | { kind: 'dir'; path: string; meta: BaseMeta }
  | { kind: 'file'; path: string; meta: BaseMeta & { symlinkTarget: string } };

export interface BaseTree<N extends BaseNode> {
  /** The commit's entry at `path`; rejects with an error whose code is ENOENT or ENOTDIR when there is none. */
  resolve(path: string): Promise<N>;
  /** The times (ms since the epoch) a directory of the commit shows, kept when it is copied up (files show 0). */
  readonly dirTimeMs?: number;
  /** The names in one of the commit's directories. */
  childNames(dir: N & { kind: 'dir' }): Promise<string[]>;
  /** Writes a regular file's content to the new file `dest`, checked as a read of it would be. */
  copyContent(file: N & { kind: 'file' }, dest: string): Promise<void>;
  /** True when two regular files of the commit are one inode (hard links of each other). */
  sameFile?(a: N, b: N): boolean;
  /** Every path of the commit that is the same file as `file` (hard links), its own included. */
  linkedPaths?(file: N): Promise<string[]>;
}
