// Where a pull gets objects from: an archive repository over HTTP, or another
// local repository (pull-local). A source hands over bytes as they came; the
// puller verifies every one of them before anything enters the repository.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Checksum } from '../checksum.js';
import { isChecksum } from '../checksum.js';
import type { MetaObjectType } from '../objects/types.js';
import { isLnk } from '../objects/types.js';
import { parseArchiveHeader, serializeArchiveHeader, type FileMeta } from '../objects/file-header.js';
import { objectRelPath } from '../layout.js';
import { deserialize, type GValue } from '../gvariant.js';
import { getKey, modeFromConfig, parseKeyFile } from '../config.js';
import { contentMapRelPath, MAX_CONTENT_MAP_BYTES } from '../content-map.js';
import { HacktreeError, MalformedObjectError } from '../../errors.js';
import { HttpClient, type HttpStats } from './http.js';
import { Repo } from '../repo.js';
import { listRefs, readRef } from '../refs.js';
import { SUMMARY_TYPE } from '../ops/summary.js';

const inflateRaw = promisify(zlib.inflateRaw) as (b: Buffer, o: zlib.ZlibOptions & { maxOutputLength?: number }) => Promise<Buffer>;

/** ostree's own cap on a metadata object (OSTREE_MAX_METADATA_SIZE). */
export const MAX_META_BYTES = 128 << 20;
/** Content objects are handled whole in memory: larger ones are refused. */
export const MAX_CONTENT_BYTES = 2 ** 31 - 1;

export interface FetchedContent {
  meta: FileMeta;
  data: Buffer;
  /** The .filez as fetched, when its header is in canonical form: an archive repo may keep it as is. */
  raw?: Buffer;
}

export interface ObjectSource {
  /** For messages: `remote 'origin'`, or the source repository's path. */
  readonly label: string;
  readonly stats: HttpStats;
  /** Branch → commit; null when the source has no such branch. */
  ref(branch: string): Promise<Checksum | null>;
  /** Every branch the source publishes. */
  branches(): Promise<Array<{ name: string; commit: Checksum }>>;
  meta(type: MetaObjectType, csum: Checksum): Promise<Buffer | null>;
  detached(commit: Checksum): Promise<Buffer | null>;
  content(csum: Checksum): Promise<FetchedContent | null>;
  contentMap(commit: Checksum): Promise<Buffer | null>;
  close(): void;
}

/** zlib's deflateBound for raw deflate: a valid stream for `n` bytes is never longer. */
const deflateBound = (n: number): number => n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 5 * Math.ceil(n / 16383 + 1);

/** Decodes a .filez: header, then raw deflate inflated to exactly the size the header declares. */
export async function decodeFilez(csum: Checksum, whole: Buffer, from: string): Promise<FetchedContent> {
  let h: ReturnType<typeof parseArchiveHeader>;
  try { h = parseArchiveHeader(whole); } catch (e) { throw new MalformedObjectError(`file object ${csum} from ${from}: ${(e as Error).message.replace(/^malformed object: /, '')}`); }
  if (isLnk(h.meta.mode)) return { meta: h.meta, data: Buffer.alloc(0) };
  if (h.size > MAX_CONTENT_BYTES) throw new MalformedObjectError(`file object ${csum} from ${from} declares ${h.size} bytes, over the ${MAX_CONTENT_BYTES}-byte limit`);
  let data: Buffer;
  try {
    data = h.size === 0 && whole.length === h.dataOffset ? Buffer.alloc(0) : await inflateRaw(whole.subarray(h.dataOffset), { maxOutputLength: Math.max(h.size, 1), chunkSize: Math.min(Math.max(h.size, 64), 8 << 20) });
  } catch (e) {
    throw new MalformedObjectError(`file object ${csum} from ${from}: bad deflate stream (${(e as Error).message})`);
  }
  if (data.length !== h.size) throw new MalformedObjectError(`file object ${csum} from ${from}: holds ${data.length} bytes, its header says ${h.size} (truncated?)`);
  const canonical = serializeArchiveHeader(h.meta, h.size);
  const raw = canonical.equals(whole.subarray(0, h.dataOffset)) ? whole : undefined;
  return { meta: h.meta, data, raw };
}

function parseRefFile(text: string, what: string): Checksum {
  const c = text.trim();
  if (!isChecksum(c)) throw new HacktreeError('BAD_SOURCE', `${what} does not hold a checksum`);
  return c;
}

export class HttpSource implements ObjectSource {
  private readonly http: HttpClient;
  constructor(readonly name: string, readonly url: string) {
    this.http = new HttpClient(url);
  }

  get label(): string { return `remote '${this.name}'`; }
  get stats(): HttpStats { return this.http.stats; }

  /** Checks that the URL serves an archive repository (ostree only serves those over HTTP). */
  async check(): Promise<void> {
    const cfg = await this.http.get('config', { maxBytes: 1 << 20 });
    if (!cfg) throw new HacktreeError('NOT_FOUND', `remote '${this.name}': no OSTree repository at ${this.url} (no config file)`);
    let mode;
    try { mode = modeFromConfig(getKey(parseKeyFile(cfg.toString('utf8')), 'core', 'mode')); } catch { mode = undefined; }
    if (mode !== 'archive') throw new HacktreeError('BAD_SOURCE', `remote '${this.name}': ${this.url} is not an archive repository (only archive repositories can be pulled over HTTP)`);
  }

  async ref(branch: string): Promise<Checksum | null> {
    const b = await this.http.get(`refs/heads/${branch}`, { maxBytes: 1024 });
    return b && parseRefFile(b.toString('utf8'), `remote '${this.name}' ref ${branch}`);
  }

  async branches(): Promise<Array<{ name: string; commit: Checksum }>> {
    const s = await this.http.get('summary', { maxBytes: 64 << 20 });
    if (!s) throw new HacktreeError('NOT_FOUND', `remote '${this.name}' publishes no summary: name the branches to pull`);
    try {
      const [refs] = deserialize(SUMMARY_TYPE, s) as [GValue[][], GValue];
      return refs.map(([name, v]) => {
        const csum = (v as GValue[])[1] as Buffer;
        if (csum.length !== 32) throw new Error('bad checksum');
        return { name: name as string, commit: csum.toString('hex') };
      });
    } catch (e) {
      throw new HacktreeError('BAD_SOURCE', `remote '${this.name}': unreadable summary (${(e as Error).message})`);
    }
  }

  meta(type: MetaObjectType, csum: Checksum): Promise<Buffer | null> {
    return this.http.get(objectRelPath(csum, type), { maxBytes: MAX_META_BYTES });
  }

  detached(commit: Checksum): Promise<Buffer | null> {
    return this.http.get(objectRelPath(commit, 'commitmeta'), { maxBytes: MAX_META_BYTES });
  }

  async content(csum: Checksum): Promise<FetchedContent | null> {
    let cap: number | null = null;
    const whole = await this.http.get(objectRelPath(csum, 'filez'), {
      maxBytes: MAX_CONTENT_BYTES,
      // Once the header is in, the object cannot be longer than header + deflateBound(size).
      limit: (chunks, received) => {
        if (cap !== null) return cap;
        if (received < 8) return MAX_CONTENT_BYTES;
        const head = Buffer.concat(chunks);
        const hlen = head.readUInt32BE(0);
        if (head.length < 8 + hlen) return MAX_CONTENT_BYTES;
        try { cap = 8 + hlen + deflateBound(parseArchiveHeader(head).size); } catch { cap = 8 + hlen; }
        return cap;
      },
    });
    return whole && decodeFilez(csum, whole, this.label);
  }

  contentMap(commit: Checksum): Promise<Buffer | null> {
    return this.http.get(contentMapRelPath(commit), { maxBytes: MAX_CONTENT_MAP_BYTES });
  }

  close(): void { this.http.close(); }
}

/** Another repository on this machine, in any mode. */
export class LocalSource implements ObjectSource {
  readonly stats: HttpStats = { requests: 0, bytes: 0 };
  private readonly src: Repo;
  constructor(path: string) {
    this.src = Repo.open(path);
  }
  get label(): string { return this.src.path; }

  async ref(branch: string): Promise<Checksum | null> { return readRef(this.src.path, { remote: null, name: branch }); }

  async branches(): Promise<Array<{ name: string; commit: Checksum }>> {
    return listRefs(this.src.path).filter((r) => r.ref.remote === null).map((r) => ({ name: r.ref.name, commit: r.checksum }));
  }

  private async read(path: string): Promise<Buffer | null> {
    try {
      const b = await fs.promises.readFile(path);
      this.stats.bytes += b.length;
      return b;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  meta(type: MetaObjectType, csum: Checksum): Promise<Buffer | null> { return this.read(this.src.objectPath(csum, type)); }
  detached(commit: Checksum): Promise<Buffer | null> { return this.read(this.src.objectPath(commit, 'commitmeta')); }

  async content(csum: Checksum): Promise<FetchedContent | null> {
    if (!this.src.hasObject(csum, 'file')) return null;
    if (this.src.mode === 'archive') {
      const whole = await this.read(this.src.objectPath(csum, 'file'));
      return whole && decodeFilez(csum, whole, this.label);
    }
    const { meta } = await this.src.loadFileMeta(csum);
    const data = isLnk(meta.mode) ? Buffer.alloc(0) : await this.src.storage.readContent(this.src.objectPath(csum, 'file'));
    this.stats.bytes += data.length;
    return { meta, data };
  }

  async contentMap(): Promise<Buffer | null> { return null; }
  close(): void { this.src.close(); }
}
