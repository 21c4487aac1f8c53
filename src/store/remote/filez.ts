// A .filez as a source sends it: a header, then raw deflate that must inflate
// to exactly the size the header declares. Shared by the sources (async inflate
// in libuv's pool) and the pull's fetch workers (inflate on their own thread:
// a worker has nothing else to do meanwhile, and the hop to the pool costs more).
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Checksum } from '../checksum.js';
import { isLnk } from '../objects/types.js';
import { parseArchiveHeader, serializeArchiveHeader, type FileMeta } from '../objects/file-header.js';
import { MalformedObjectError } from '../../errors.js';
import type { FetchOptions } from './http.js';

const inflateRaw = promisify(zlib.inflateRaw) as (b: Buffer, o: zlib.ZlibOptions & { maxOutputLength?: number }) => Promise<Buffer>;

/** Content objects are handled whole in memory: larger ones are refused. */
export const MAX_CONTENT_BYTES = 2 ** 31 - 1;

export interface FetchedContent {
  meta: FileMeta;
  data: Buffer;
  /** The .filez as fetched, when its header is in canonical form: an archive repo may keep it as is. */
  raw?: Buffer;
}

/** zlib's deflateBound for raw deflate: a valid stream for `n` bytes is never longer. */
const deflateBound = (n: number): number => n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 5 * Math.ceil(n / 16383 + 1);

/** Fetch options for one .filez: once its header is in, it cannot be longer than header + deflateBound(size). */
export function filezFetchOptions(): FetchOptions {
  let cap: number | null = null;
  return {
    maxBytes: MAX_CONTENT_BYTES,
    limit: (chunks, received) => {
      if (cap !== null) return cap;
      if (received < 8) return MAX_CONTENT_BYTES;
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const hlen = head.readUInt32BE(0);
      if (head.length < 8 + hlen) return MAX_CONTENT_BYTES;
      try { cap = 8 + hlen + deflateBound(parseArchiveHeader(head).size); } catch { cap = 8 + hlen; }
      return cap;
    },
  };
}

/** A parsed .filez whose deflate stream is still to inflate (`body` null: nothing to inflate). */
interface Parsed { meta: FileMeta; size: number; body: Buffer | null; whole: Buffer; dataOffset: number }

function parse(csum: Checksum, whole: Buffer, from: string): Parsed {
  let h: ReturnType<typeof parseArchiveHeader>;
  try { h = parseArchiveHeader(whole); } catch (e) { throw new MalformedObjectError(`file object ${csum} from ${from}: ${(e as Error).message.replace(/^malformed object: /, '')}`); }
  if (isLnk(h.meta.mode)) return { meta: h.meta, size: 0, body: null, whole, dataOffset: h.dataOffset };
  if (h.size > MAX_CONTENT_BYTES) throw new MalformedObjectError(`file object ${csum} from ${from} declares ${h.size} bytes, over the ${MAX_CONTENT_BYTES}-byte limit`);
  const empty = h.size === 0 && whole.length === h.dataOffset;
  return { meta: h.meta, size: h.size, body: empty ? null : whole.subarray(h.dataOffset), whole, dataOffset: h.dataOffset };
}

const inflateOptions = (size: number) => ({ maxOutputLength: Math.max(size, 1), chunkSize: Math.min(Math.max(size, 64), 8 << 20) });

const badStream = (csum: Checksum, from: string, e: unknown): MalformedObjectError =>
  new MalformedObjectError(`file object ${csum} from ${from}: bad deflate stream (${(e as Error).message})`);

function finish(csum: Checksum, from: string, p: Parsed, data: Buffer, keepRaw: boolean): FetchedContent {
  if (isLnk(p.meta.mode)) return { meta: p.meta, data };
  if (data.length !== p.size) throw new MalformedObjectError(`file object ${csum} from ${from}: holds ${data.length} bytes, its header says ${p.size} (truncated?)`);
  if (!keepRaw) return { meta: p.meta, data };
  const canonical = serializeArchiveHeader(p.meta, p.size);
  return { meta: p.meta, data, raw: canonical.equals(p.whole.subarray(0, p.dataOffset)) ? p.whole : undefined };
}

/** Decodes a .filez, inflating in libuv's pool. `keepRaw`: as for decodeFilezSync. */
export async function decodeFilez(csum: Checksum, whole: Buffer, from: string, keepRaw = true): Promise<FetchedContent> {
  const p = parse(csum, whole, from);
  let data: Buffer = Buffer.alloc(0);
  if (p.body) {
    try { data = await inflateRaw(p.body, inflateOptions(p.size)); } catch (e) { throw badStream(csum, from, e); }
  }
  return finish(csum, from, p, data, keepRaw);
}

/**
 * Decodes a .filez on this thread (for worker threads). `keepRaw`: whether to offer the
 * fetched bytes as `raw` (only an archive repository keeps them).
 */
export function decodeFilezSync(csum: Checksum, whole: Buffer, from: string, keepRaw: boolean): FetchedContent {
  const p = parse(csum, whole, from);
  let data: Buffer = Buffer.alloc(0);
  if (p.body) {
    try { data = zlib.inflateRawSync(p.body, inflateOptions(p.size)); } catch (e) { throw badStream(csum, from, e); }
  }
  return finish(csum, from, p, data, keepRaw);
}
