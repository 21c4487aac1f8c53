// The typed face of native/ll (hacktree_ll.node): read-only commit mounts on libfuse's
// low-level API. The addon answers what it has been told on libfuse's threads and calls JS
// only to list a directory the first time, to read a file whose checked object it does not
// know, and for statfs; JS answers each call later with a reply function and the call's id.
import { createRequire } from 'node:module';
import { HacktreeError } from '../../errors.js';
import type { Stat } from '../binding.js';

/** What the addon asks JS (native/ll/ll.h CALL_*). */
export const enum Call { Init = 0, List = 1, Read = 2, Statfs = 3 }

/**
 * handler(kind, id, path, size, offset): path is the directory to list or the file to read
 * (any of its names); size and offset are a read's. Every call but Init takes exactly one reply.
 */
export type LlHandler = (kind: Call, id: number, path: string | undefined, size: number, offset: number) => void;

/** A mount, as the addon hands it out (opaque). */
export interface LlMount { readonly __llMount: unique symbol }

export interface LlAddon {
  /** Mounts and starts serving; `root` is encodeEntries([the root], false). Throws if libfuse refuses. */
  mount(mountpoint: string, options: string[], root: Buffer, handler: LlHandler): LlMount;
  /** A directory's entries (encodeEntries(..., true)), or null and a positive errno. */
  replyList(id: number, listing: Buffer | null, errno: number): void;
  /** `n` bytes of `bytes`, or null and -errno. */
  replyRead(id: number, bytes: Buffer | null, n: number): void;
  /** [bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax], or null and a positive errno. */
  replyStatfs(id: number, values: number[] | null, errno: number): void;
  /** The checked object file holding the bytes of the regular file at `path`: the addon reads it itself from now on. */
  cacheContent(m: LlMount, path: string, file: string): void;
  requestCounts(m: LlMount): Record<string, number>;
  /** After the unmount: the mount no longer keeps the event loop alive. */
  detach(m: LlMount): void;
}

let addon: LlAddon | undefined;
export function loadLl(): LlAddon {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)('../../../native/build/Release/hacktree_ll.node') as LlAddon;
  } catch (err) {
    throw new HacktreeError('MOUNT', `the FUSE addon is not built (run npm ci): ${(err as Error).message}`, { cause: err });
  }
  return addon;
}

/** A directory entry as the addon keeps it: everything the kernel may ask of it. */
export interface LlEntry {
  name: string;
  stat: Stat;
  symlink?: string;
  xattrs?: ReadonlyArray<readonly [string, Buffer]>;
}

const HEAD = 9 * 4 + 6 * 8;

/** The wire format native/ll/nodes.c parses (described there); `counted` prefixes the entry count. */
export function encodeEntries(entries: readonly LlEntry[], counted: boolean): Buffer {
  let len = counted ? 4 : 0;
  const parts = entries.map((e) => {
    const name = Buffer.from(e.name);
    const link = e.symlink !== undefined ? Buffer.from(e.symlink) : undefined;
    let xlen = 0;
    const xattrs = (e.xattrs ?? []).map(([k, v]) => { const kb = Buffer.from(k); xlen += 8 + kb.length + v.length; return [kb, v] as const; });
    len += HEAD + name.length + (link?.length ?? 0) + xlen;
    return { e, name, link, xattrs, xlen };
  });
  const out = Buffer.allocUnsafe(len);
  let at = 0;
  if (counted) at = out.writeUInt32LE(entries.length, 0);
  for (const { e, name, link, xattrs, xlen } of parts) {
    const s = e.stat;
    for (const v of [name.length, link?.length ?? 0, xlen, s.mode, s.nlink, s.uid, s.gid, s.rdev ?? 0, s.blksize ?? 4096]) at = out.writeUInt32LE(v >>> 0, at);
    for (const v of [s.ino, s.size, s.blocks ?? Math.ceil(s.size / 512), s.atime, s.mtime, s.ctime]) at = out.writeDoubleLE(v, at);
    at += name.copy(out, at);
    if (link) at += link.copy(out, at);
    for (const [k, v] of xattrs) {
      at = out.writeUInt32LE(k.length, at);
      at = out.writeUInt32LE(v.length, at);
      at += k.copy(out, at);
      at += v.copy(out, at);
    }
  }
  return out;
}
