// archive (archive-z2): each content object is a .filez holding a header with
// the metadata and the content as raw deflate. What HTTP serving uses.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parseArchiveHeader, serializeArchiveHeader, type FileMeta } from '../objects/file-header.js';
import { isLnk } from '../objects/types.js';
import { CorruptObjectError } from '../../errors.js';
import type { ContentSource, ContentStorage } from './storage.js';
import { objectNameOf } from './object-name.js';

const HEADER_PROBE = 4096;

export const archiveStorage: ContentStorage = {
  ext: 'filez',
  plainContent: false,
  stage(path: string, meta: FileMeta, src: ContentSource): void {
    if (isLnk(meta.mode)) {
      fs.writeFileSync(path, serializeArchiveHeader(meta, 0), { mode: 0o644 });
      return;
    }
    const data = src.kind === 'buffer' ? src.data : fs.readFileSync(src.path);
    const body = zlib.deflateRawSync(data, { level: 6 });
    const fd = fs.openSync(path, 'w', 0o644);
    try {
      fs.writeSync(fd, serializeArchiveHeader(meta, data.length));
      fs.writeSync(fd, body);
    } finally {
      fs.closeSync(fd);
    }
  },
  async readMeta(path: string) {
    const fh = await fs.promises.open(path, 'r');
    try {
      let buf = Buffer.alloc(HEADER_PROBE);
      let { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      let need = bytesRead >= 4 ? 8 + buf.readUInt32BE(0) : 8;
      if (need > bytesRead && need <= 1 << 24) {
        buf = Buffer.alloc(need);
        ({ bytesRead } = await fh.read(buf, 0, need, 0));
      }
      return headerOf(path, buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  },
  readMetaSync(path: string) {
    return headerOf(path, fs.readFileSync(path));
  },
  async readContent(path: string) {
    return inflateFilez(path, await fs.promises.readFile(path));
  },
};

function headerOf(path: string, b: Buffer): { meta: FileMeta; size: number } {
  try {
    const { meta, size } = parseArchiveHeader(b);
    return { meta, size };
  } catch (e) {
    throw new CorruptObjectError(objectNameOf(path), 'file', (e as Error).message);
  }
}

/** Decompresses a whole .filez, checking the size its header declares. */
export function inflateFilez(path: string, whole: Buffer): Buffer {
  let parsed: ReturnType<typeof parseArchiveHeader>;
  try {
    parsed = parseArchiveHeader(whole);
  } catch (e) {
    throw new CorruptObjectError(objectNameOf(path), 'file', (e as Error).message);
  }
  if (isLnk(parsed.meta.mode)) return Buffer.alloc(0);
  let out: Buffer;
  try {
    out = zlib.inflateRawSync(whole.subarray(parsed.dataOffset), { maxOutputLength: Math.max(parsed.size, 1) });
  } catch (e) {
    throw new CorruptObjectError(objectNameOf(path), 'file', `bad deflate stream: ${(e as Error).message}`);
  }
  if (out.length !== parsed.size) throw new CorruptObjectError(objectNameOf(path), 'file', `holds ${out.length} bytes, header says ${parsed.size}`);
  return out;
}
