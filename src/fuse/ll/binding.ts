// The typed face of native/ll (hacktree_ll.node): commit and root mounts on libfuse's
// low-level API. On a commit's mount the addon answers what it has been told on libfuse's
// threads and calls JS only to list a directory the first time, to read a file whose checked
// object it does not know, and for statfs. On a root's mount (RwCall) JS holds the node table
// and answers every request but reads, writes, fsync and release on descriptors. Either way
// JS answers each call later with a reply function and the call's id.
import type { Stat } from '../types.js';
import { nativeAddon } from '../../native-addon.js';

/** What the addon asks JS (native/ll/ll.h CALL_*). */
export const enum Call { Init = 0, List = 1, Read = 2, Statfs = 3, Visit = 4, OpenContent = 5 }

/**
 * handler(kind, id, path, size, offset): path is the directory to list or the file to read
 * (any of its names); size and offset are a read's. Visit: the kernel first asked for the
 * listing of `path`, which JS gave ahead (offerList). OpenContent: a root's mount opens the
 * commit file at `path` to pass it through to its object file (native/ll/passthrough.c), once
 * checked: replyReadContent, else replyRead (an error, or nothing published: a cached open).
 * Every call but Init and Visit takes exactly one reply.
 */
export type LlHandler = (kind: Call, id: number, path: string | undefined, size: number, offset: number) => void;

/** What a root's mount asks JS (native/ll/ll.h CALL_LOOKUP...). */
export const enum RwCall {
  Lookup = 16, Forget, Getattr, Setattr, Readlink, Mknod, Mkdir, Unlink, Rmdir, Symlink, Rename, Link, Open, Read,
  Opendir, Readdir, Releasedir, Getxattr, Listxattr, Setxattr, Removexattr, Create, Release,
}

/** Indexes into a root call's numbers (ll.h NUM_*); -1 where the request has none. */
export const enum Num {
  Mode, Rdev, Size, Offset, Uid, Gid, Pid, Umask, Flags, Fd, ToSet, Atime, Mtime, SetUid, SetGid, SetSize, SetMode,
}

/**
 * handler(kind, id, ino, ino2, s1, s2, nums, data) on a root's mount: ino is the node the
 * request is about (the parent for names), ino2 rename's and link's new parent; s1 the name
 * (an xattr's name for xattr calls), s2 rename's new name or symlink's target; data setxattr's
 * value. Fd is a descriptor of the layer's file the kernel's handle holds, or -1; on readdir
 * and releasedir, the directory handle; Flags on readdir is 1 for READDIRPLUS. Init and
 * Statfs come as LlHandler's. Every call but Init and Forget takes exactly one reply.
 */
export type RwHandler = (kind: RwCall | Call, id: number, ino: number | string | undefined, ino2: number, s1: string | undefined, s2: string | undefined, nums: number[], data: Buffer | undefined) => void;

/** Fields of an entry or attributes as replies carry them (rw_replies.c E_*). */
export const ENTRY_FIELDS = 19;
/** replyOpen/replyCreate flags. */
export const OPEN_KEEP_CACHE = 1, OPEN_CACHE_DIR = 2, OPEN_CONTENT = 4, OPEN_META = 8;
/** notify() notes, 4 numbers each: kind, node, parent, index into names. */
export const enum Note { Inode = 0, Entry = 1, Delete = 2 }

/** A mount, as the addon hands it out (opaque). */
export interface LlMount { readonly __llMount: unique symbol }

export interface LlAddon {
  /** Mounts and starts serving; `root` is encodeEntries([the root], false), or null for a root's mount. Throws if libfuse refuses. */
  mount(mountpoint: string, options: string[], root: Buffer, handler: LlHandler): LlMount;
  mount(mountpoint: string, options: string[], root: null, handler: RwHandler): LlMount;
  /** lookup (node 0: no such name), mknod, mkdir, symlink, link: ENTRY_FIELDS numbers, or null and a positive errno. */
  replyEntry(id: number, errno: number, entry: Float64Array | null): void;
  /** getattr, setattr. */
  replyAttr(id: number, errno: number, entry: Float64Array | null): void;
  /**
   * open: a descriptor the addon reads, writes and closes itself, or -1 (reads come to JS); with
   * OPEN_META it also changes the file's metadata through it and shows it as inode `ino`.
   * opendir: JS's handle.
   */
  replyOpen(id: number, errno: number, fh: number, flags: number, ino: number): void;
  /** create: the entry and its descriptor (as replyOpen's; the entry's inode number for OPEN_META). */
  replyCreate(id: number, errno: number, entry: Float64Array | null, fd: number, flags: number): void;
  /** Success (0) or an errno. */
  replyErr(id: number, errno: number): void;
  /** readlink's target, getxattr's value, listxattr's NUL-terminated names. */
  replyBytes(id: number, errno: number, bytes: Buffer | null): void;
  /** Entries first, first + 1, ... of a listing (ENTRY_FIELDS numbers each); returns how many the kernel took. */
  replyDir(id: number, errno: number, names: string[], entries: Float64Array, first: number): number;
  /** The checked object file of a node that is still the commit's file: reads of it stay in C. */
  setContent(node: number, file: string): void;
  /** The node may be another file now: C forgets what it answered of it without JS. */
  dropFacts(node: number): void;
  /** The layer's real directory of a directory node (an O_PATH descriptor, the addon's from now on). */
  setDir(node: number, fd: number, ino: number, layerOnly: boolean): void;
  /** The mount is a booted system's /: what C answers of layer directories is kept too (serve-root.ts bootRoot). */
  setBootRoot(m: LlMount): void;
  /** A root's: the kernel reads its files (and writes its layer's) itself (native/ll/passthrough.c; off with -o nopassthrough). */
  passthrough(m: LlMount): boolean;
  /** A root's: the kernel's id of the commit directory at `path` (its parents listed with offerList), or 0 (native/ll/grafts.c). */
  graft(m: LlMount, path: string): number;
  /** A root's: the path of a commit node's id, or null for an id of JS's node table. */
  commitPath(m: LlMount, id: number): string | null;
  /** A root's: its commit tree is listed anew from now on (a reload). */
  newCommit(m: LlMount): void;
  /** Tells the kernel of changes (Note); settles once it has them all. */
  notify(m: LlMount, notes: Float64Array, names: string[]): Promise<void>;
  /** A directory's entries (encodeEntries(..., true)), or null and a positive errno. */
  replyList(id: number, listing: Buffer | null, errno: number): void;
  /** `n` bytes of `bytes`, or null and -errno. */
  replyRead(id: number, bytes: Buffer | null, n: number): void;
  /** A read answered from the file's object file, published just now (cacheContent); false when none is (the read is still JS's). */
  replyReadContent(id: number): boolean;
  /**
   * Checks an object file on a thread of libuv's pool (native/ll/check.c): `done` gets status 0
   * (good), -1 (checksum mismatch) or an errno, and the file's stamp. A file whose stamp is the
   * mark's (markIno >= 0) is good without being hashed.
   */
  checkObject(file: string, prefix: Buffer, checksum: Buffer, markIno: number, markSize: number, markCtimeNs: bigint,
    done: (status: number, ino: number, size: number, ctimeNs: bigint) => void): void;
  /**
   * Reads a metadata object file whole and hashes it on a thread of libuv's pool
   * (native/ll/read-meta.c): `done` gets status 0 and the bytes, -1 (checksum mismatch) or an errno.
   */
  readMeta(file: string, checksum: Buffer, done: (status: number, bytes: Buffer | undefined) => void): void;
  /** [bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax], or null and a positive errno. */
  replyStatfs(id: number, values: number[] | null, errno: number): void;
  /**
   * The listing (as replyList's) of the directory at `path`, made before the kernel asked for
   * it; false when not taken (the directory is listed already, or its parent is not).
   */
  offerList(m: LlMount, path: string, listing: Buffer): boolean;
  /** The checked object file holding the bytes of the regular file at `path`: the addon reads it itself from now on. */
  cacheContent(m: LlMount, path: string, file: string): void;
  /** Has the kernel read `file` into the page cache, in the background. */
  readAhead(file: string): void;
  requestCounts(m: LlMount): Record<string, number>;
  /** After the unmount: the mount no longer keeps the event loop alive. */
  detach(m: LlMount): void;
}

export const loadLl = (): LlAddon => nativeAddon<LlAddon>();

/** A directory entry as the addon keeps it: everything the kernel may ask of it. */
export interface LlEntry {
  name: string;
  stat: Stat;
  symlink?: string;
  xattrs?: ReadonlyArray<readonly [string, Buffer]>;
}

const HEAD = 9 * 4 + 6 * 8;

/**
 * The wire format native/ll/nodes.c parses (described there); `counted` prefixes the entry count.
 * Names, targets and xattr names are written straight into the one buffer: a walk encodes every
 * entry of the tree once, and a Buffer per string was most of what a mount's heap churned.
 */
export function encodeEntries(entries: readonly LlEntry[], counted: boolean): Buffer {
  let len = counted ? 4 : 0;
  for (const e of entries) {
    len += HEAD + Buffer.byteLength(e.name) + (e.symlink !== undefined ? Buffer.byteLength(e.symlink) : 0);
    for (const [k, v] of e.xattrs ?? []) len += 8 + Buffer.byteLength(k) + v.length;
  }
  const out = Buffer.allocUnsafe(len);
  let at = 0;
  if (counted) at = out.writeUInt32LE(entries.length, 0);
  for (const e of entries) {
    const s = e.stat;
    // The three lengths first: filled in once the strings are written.
    const lengths = at;
    at += 12;
    for (const v of [s.mode, s.nlink, s.uid, s.gid, s.rdev ?? 0, s.blksize ?? 4096]) at = out.writeUInt32LE(v >>> 0, at);
    for (const v of [s.ino, s.size, s.blocks ?? Math.ceil(s.size / 512), s.atime, s.mtime, s.ctime]) at = out.writeDoubleLE(v, at);
    const name = out.write(e.name, at);
    at += name;
    const link = e.symlink !== undefined ? out.write(e.symlink, at) : 0;
    at += link;
    const xstart = at;
    for (const [k, v] of e.xattrs ?? []) {
      const kl = out.write(k, at + 8);
      at = out.writeUInt32LE(kl, at);
      at = out.writeUInt32LE(v.length, at);
      at += kl;
      at += v.copy(out, at);
    }
    out.writeUInt32LE(name, lengths);
    out.writeUInt32LE(link, lengths + 4);
    out.writeUInt32LE(at - xstart, lengths + 8);
  }
  return out;
}
