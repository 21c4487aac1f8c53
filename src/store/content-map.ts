// The content map of a commit, published beside the objects: which content
// object carries which bytes (sha256 of the bare content) with which metadata.
// A puller that already holds those bytes under other metadata (a chmod, a
// chown) rebuilds the object locally instead of downloading it.
//
// File: REPO/hacktree/content-maps/COMMIT.map, gzip of the GVariant
// `a(ayayuuua(ayay))` = [(object checksum, content sha256, uid, gid, mode, xattrs)],
// sorted by object checksum, integers big-endian as in ostree's own objects.
// ostree never requests anything under hacktree/, so it is invisible to it. The
// map is not trusted: every rebuilt object is checked against the checksum its
// (verified) tree names, and a wrong entry only means a download.
import zlib from 'node:zlib';
import { join } from 'node:path';
import { deserialize, serialize, type GValue } from './gvariant.js';
import { bytesToChecksum, checksumToBytes, type Checksum } from './checksum.js';
import { be32, type FileMeta } from './objects/file-header.js';
import { xattrsFromGValue, xattrsToGValue } from './objects/xattrs.js';
import { isReg } from './objects/types.js';
import { MalformedObjectError } from '../errors.js';

export const CONTENT_MAP_TYPE = 'a(ayayuuua(ayay))';
/** A map of a few million entries stays under this; a larger one is refused. */
export const MAX_CONTENT_MAP_BYTES = 512 << 20;

export interface ContentMapEntry { sha256: Checksum; meta: FileMeta }
export type ContentMap = Map<Checksum, ContentMapEntry>;

export const contentMapRelPath = (commit: Checksum): string => `hacktree/content-maps/${commit}.map`;
export const contentMapPath = (repo: string, commit: Checksum): string => join(repo, contentMapRelPath(commit));

export function serializeContentMap(m: ContentMap): Buffer {
  const rows = [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([object, e]): GValue =>
    [checksumToBytes(object), checksumToBytes(e.sha256), be32(e.meta.uid), be32(e.meta.gid), be32(e.meta.mode), xattrsToGValue(e.meta.xattrs)]);
  return zlib.gzipSync(serialize(CONTENT_MAP_TYPE, rows), { level: 9 });
}

export function parseContentMap(gz: Buffer): ContentMap {
  let raw: Buffer;
  try { raw = zlib.gunzipSync(gz, { maxOutputLength: MAX_CONTENT_MAP_BYTES }); } catch (e) { throw new MalformedObjectError(`content map: ${(e as Error).message}`); }
  const out: ContentMap = new Map();
  for (const row of deserialize(CONTENT_MAP_TYPE, raw) as GValue[][]) {
    const [object, sha, uid, gid, mode, xattrs] = row as [Buffer, Buffer, number, number, number, GValue];
    if (object.length !== 32 || sha.length !== 32) throw new MalformedObjectError('content map: checksum of the wrong length');
    const meta: FileMeta = { uid: be32(uid), gid: be32(gid), mode: be32(mode), symlinkTarget: '', xattrs: xattrsFromGValue(xattrs) };
    if (!isReg(meta.mode)) throw new MalformedObjectError('content map: entry for something other than a regular file');
    out.set(bytesToChecksum(object), { sha256: bytesToChecksum(sha), meta });
  }
  return out;
}
