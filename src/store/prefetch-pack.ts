// A commit's prefetch pack: the objects of its prefetch list (prefetch-list.ts) in one file, so
// that a lazy mount on another machine gets everything its start needs in one request, where
// the list alone costs a request per object (1,021 for the test root's start: eleven round
// trips at 96 in flight, and the CPU of a thousand responses). eStargz does the same for a
// container's start: the files its prefetch landmark names come first in the blob, one range.
//
// File: REPO/hacktree/prefetch/COMMIT.pack, beside COMMIT.list, on the server (written by
// `hacktree prefetch-publish` from the server's own objects) and in the lazy mount's repository
// (fetched with the list and kept; the command that starts the mount stores its objects while
// the daemon starts, and the daemon keeps its headers in memory). Binary:
//   magic "HTPACK\0\1"
//   entry*: kind (1 byte, 't' dirtree, 'm' dirmeta, 'f' a .filez whole, 'h' a .filez's header
//           only), checksum (32 bytes), length (u32, big-endian), then that many bytes.
// Like the list it is a hint, never trusted: every object in it is verified as a fetched one
// is, an entry that fails is dropped, and a malformed pack is no pack.
import fs from 'node:fs';
import { join } from 'node:path';
import type { Checksum } from './checksum.js';
import { kindType, type PrefetchEntry, type PrefetchKind } from './prefetch-list.js';
import { MalformedObjectError } from '../errors.js';

export const PACK_MAGIC = Buffer.from('HTPACK\0\x01', 'latin1');
const ENTRY_HEAD = 1 + 32 + 4;

/** What a lazy mount waits for with its commit: a pack past this is the whole tree, not a start. */
export const MAX_PREFETCH_PACK_BYTES = 256 << 20;

/**
 * How much of a .filez a lazy mount's listing asks for (LazyFetcher.fetchInfo): its header
 * (8 bytes and ~30 more without xattrs) with room for xattrs. An object shorter than this comes
 * whole, so a pack holds it whole too. Not more: 4 KiB brought a quarter of /usr/bin's small
 * files whole, and the rest 4 KiB each, 0.96 MB of a start's 5.0 MB where 512 bytes take 0.13 MB.
 */
export const HEAD_BYTES = 512;

export interface PackEntry { kind: PrefetchKind; checksum: Checksum; bytes: Buffer }

export const prefetchPackRelPath = (commit: Checksum): string => `hacktree/prefetch/${commit}.pack`;
export const prefetchPackPath = (repo: string, commit: Checksum): string => join(repo, prefetchPackRelPath(commit));

export function serializePack(entries: readonly PackEntry[]): Buffer {
  const parts: Buffer[] = [PACK_MAGIC];
  for (const e of entries) {
    const head = Buffer.alloc(ENTRY_HEAD);
    head.write(e.kind, 0, 'latin1');
    Buffer.from(e.checksum, 'hex').copy(head, 1);
    head.writeUInt32BE(e.bytes.length, 33);
    parts.push(head, e.bytes);
  }
  return Buffer.concat(parts);
}

/** The entries of a pack (views into `b`); throws MalformedObjectError on anything else. */
export function parsePack(b: Buffer): PackEntry[] {
  if (b.length < PACK_MAGIC.length || !b.subarray(0, PACK_MAGIC.length).equals(PACK_MAGIC)) throw new MalformedObjectError('prefetch pack: bad magic');
  const out: PackEntry[] = [];
  let at = PACK_MAGIC.length;
  while (at < b.length) {
    if (at + ENTRY_HEAD > b.length) throw new MalformedObjectError(`prefetch pack: entry ${out.length + 1} cut short`);
    const kind = String.fromCharCode(b[at]!) as PrefetchKind;
    if (!'tmfh'.includes(kind)) throw new MalformedObjectError(`prefetch pack: entry ${out.length + 1} has unknown kind ${b[at]}`);
    const checksum = b.toString('hex', at + 1, at + 33);
    const len = b.readUInt32BE(at + 33);
    at += ENTRY_HEAD;
    if (at + len > b.length) throw new MalformedObjectError(`prefetch pack: entry ${out.length + 1} runs past the end`);
    out.push({ kind, checksum, bytes: b.subarray(at, at + len) });
    at += len;
  }
  return out;
}

/**
 * The pack of `list` from an archive repository's objects (a server's): what a lazy mount's
 * requests for them would have brought, an 'h' being the whole .filez when it is no longer
 * than HEAD_BYTES (then an 'f') and else its header alone. Objects the repository lacks are
 * left out and counted.
 */
export function buildPack(objectPath: (csum: Checksum, ext: string) => string, list: readonly PrefetchEntry[]): { pack: Buffer; entries: number; missing: number } {
  const entries: PackEntry[] = [];
  const seen = new Set<string>();
  let missing = 0;
  for (const e of list) {
    if (seen.has(e.kind + e.checksum)) continue;
    seen.add(e.kind + e.checksum);
    const type = kindType(e.kind);
    const path = objectPath(e.checksum, type === 'file' ? 'filez' : type);
    let got: { bytes: Buffer; whole: boolean };
    try {
      got = e.kind === 'h' ? headOf(path) : { bytes: fs.readFileSync(path), whole: true };
    } catch (x) {
      if ((x as NodeJS.ErrnoException).code === 'ENOENT') { missing++; continue; }
      throw x;
    }
    entries.push({ kind: e.kind === 'h' && got.whole ? 'f' : e.kind, checksum: e.checksum, bytes: got.bytes });
  }
  return { pack: serializePack(entries), entries: entries.length, missing };
}

/** The .filez at `path` whole when it is shorter than HEAD_BYTES, else its header (8 bytes + the length they declare). */
function headOf(path: string): { bytes: Buffer; whole: boolean } {
  const fd = fs.openSync(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const n = fs.readSync(fd, head, 0, HEAD_BYTES, 0);
    if (n < HEAD_BYTES) return { bytes: head.subarray(0, n), whole: true };
    const hlen = 8 + head.readUInt32BE(0);
    if (hlen <= n) return { bytes: head.subarray(0, hlen), whole: false };
    if (hlen > MAX_PREFETCH_PACK_BYTES) throw new MalformedObjectError(`${path}: header of ${hlen} bytes`);
    const big = Buffer.alloc(hlen);
    if (fs.readSync(fd, big, 0, hlen, 0) < hlen) throw new MalformedObjectError(`${path}: header past the end of the object`);
    return { bytes: big, whole: false };
  } finally {
    fs.closeSync(fd);
  }
}
