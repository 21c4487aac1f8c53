// The metadata of a content object, and its three serializations:
// the checksum header, the bare-user xattr, and the archive (.filez) header.
import { deserialize, serialize, type GValue } from '../gvariant.js';
import { sha256Hex } from '../checksum.js';
import { MalformedObjectError } from '../../errors.js';
import { xattrsFromGValue, xattrsToGValue } from './xattrs.js';
import { isLnk, isReg, type Xattrs } from './types.js';

export interface FileMeta {
  uid: number;
  gid: number;
  /** Full st_mode: S_IFREG or S_IFLNK plus permission bits (≤ 07777). */
  mode: number;
  /** Symlink target, '' for regular files. */
  symlinkTarget: string;
  xattrs: Xattrs;
}

export const FILE_HEADER_TYPE = '(uuuusa(ayay))';
export const BARE_USER_META_TYPE = '(uuua(ayay))';
export const ARCHIVE_HEADER_TYPE = '(tuuuusa(ayay))';

/** OSTree stores its own integers big-endian inside the little-endian framing. */
export const be32 = (n: number): number => (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
export const be64 = (n: bigint): bigint => {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(n);
  return b.readBigUInt64LE();
};

export function checkFileMeta(m: FileMeta): void {
  if (!isReg(m.mode) && !isLnk(m.mode)) throw new MalformedObjectError(`content object with mode 0${m.mode.toString(8)} is neither a regular file nor a symlink`);
  if (isLnk(m.mode) && m.symlinkTarget === '') throw new MalformedObjectError('symlink with an empty target');
  if (isReg(m.mode) && m.symlinkTarget !== '') throw new MalformedObjectError('regular file with a symlink target');
}

export function serializeFileHeader(m: FileMeta): Buffer {
  return serialize(FILE_HEADER_TYPE, [be32(m.uid), be32(m.gid), be32(m.mode), 0, m.symlinkTarget, xattrsToGValue(m.xattrs)]);
}

export function parseFileHeader(b: Buffer): FileMeta {
  const [uid, gid, mode, , target, xattrs] = deserialize(FILE_HEADER_TYPE, b) as [number, number, number, number, string, GValue];
  const m = { uid: be32(uid), gid: be32(gid), mode: be32(mode), symlinkTarget: target, xattrs: xattrsFromGValue(xattrs) };
  checkFileMeta(m);
  return m;
}

/**
 * Serializations of the metadata most files share (no xattrs, no symlink target): a tree
 * has a few hundred such (uid, gid, mode) triples for thousands of files, and serializing
 * GVariant per object was a visible part of a pull's CPU. The Buffers are shared: callers
 * must not modify them.
 */
class PlainMetaCache {
  private readonly map = new Map<string, Buffer>();
  get(m: FileMeta, make: (m: FileMeta) => Buffer): Buffer {
    if (m.xattrs.length > 0 || m.symlinkTarget !== '') return make(m);
    const key = `${m.uid},${m.gid},${m.mode}`;
    let b = this.map.get(key);
    if (!b) {
      if (this.map.size >= 4096) this.map.clear();
      b = make(m);
      this.map.set(key, b);
    }
    return b;
  }
}
const prefixes = new PlainMetaCache();
const bareUserMetas = new PlainMetaCache();

/** The prefix hashed before the content: BE32 length, 4 zero bytes, header. Shared: do not modify. */
export function checksumPrefix(m: FileMeta): Buffer {
  return prefixes.get(m, makeChecksumPrefix);
}

function makeChecksumPrefix(m: FileMeta): Buffer {
  const h = serializeFileHeader(m);
  const p = Buffer.alloc(8 + h.length);
  p.writeUInt32BE(h.length, 0);
  h.copy(p, 8);
  return p;
}

export function contentChecksum(m: FileMeta, content: Buffer): string {
  return sha256Hex(checksumPrefix(m), content);
}

/** The bare-user xattr value. Shared: do not modify. */
export function serializeBareUserMeta(m: FileMeta): Buffer {
  return bareUserMetas.get(m, makeBareUserMeta);
}

function makeBareUserMeta(m: FileMeta): Buffer {
  return serialize(BARE_USER_META_TYPE, [be32(m.uid), be32(m.gid), be32(m.mode), xattrsToGValue(m.xattrs)]);
}

/** Bare-user keeps the target as the file's content, so the xattr lacks it. */
export function parseBareUserMeta(b: Buffer, symlinkTarget: string): FileMeta {
  const [uid, gid, mode, xattrs] = deserialize(BARE_USER_META_TYPE, b) as [number, number, number, GValue];
  return { uid: be32(uid), gid: be32(gid), mode: be32(mode), symlinkTarget, xattrs: xattrsFromGValue(xattrs) };
}

export function serializeArchiveHeader(m: FileMeta, size: number): Buffer {
  const h = serialize(ARCHIVE_HEADER_TYPE, [be64(BigInt(size)), be32(m.uid), be32(m.gid), be32(m.mode), 0, m.symlinkTarget, xattrsToGValue(m.xattrs)]);
  const p = Buffer.alloc(8 + h.length);
  p.writeUInt32BE(h.length, 0);
  h.copy(p, 8);
  return p;
}

/** Parses the start of a .filez; returns the metadata, content size and where the deflate stream starts. */
export function parseArchiveHeader(b: Buffer): { meta: FileMeta; size: number; dataOffset: number } {
  if (b.length < 8) throw new MalformedObjectError('archive object shorter than its header');
  const hlen = b.readUInt32BE(0);
  if (8 + hlen > b.length) throw new MalformedObjectError('archive header length past the end of the object');
  // Past the size (the tuple's first 8 bytes), headers of plain files repeat: see PlainMetaCache.
  const key = hlen > 8 ? b.toString('latin1', 16, 8 + hlen) : null;
  const known = key !== null ? parsedPlain.get(key) : undefined;
  if (known) return { meta: { ...known, xattrs: [] }, size: Number(b.readBigUInt64BE(8)), dataOffset: 8 + hlen };
  const [size, uid, gid, mode, , target, xattrs] = deserialize(ARCHIVE_HEADER_TYPE, b.subarray(8, 8 + hlen)) as [bigint, number, number, number, number, string, GValue];
  const meta = { uid: be32(uid), gid: be32(gid), mode: be32(mode), symlinkTarget: target, xattrs: xattrsFromGValue(xattrs) };
  checkFileMeta(meta);
  if (key !== null && target === '' && meta.xattrs.length === 0) {
    if (parsedPlain.size >= 4096) parsedPlain.clear();
    parsedPlain.set(key, { ...meta });
  }
  return { meta, size: Number(be64(size)), dataOffset: 8 + hlen };
}

/** Archive headers of plain files, by their bytes after the size: what they parse to. */
const parsedPlain = new Map<string, FileMeta>();
