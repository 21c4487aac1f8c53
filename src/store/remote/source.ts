// Where a pull gets objects from: an archive repository over HTTP, or another
// local repository (pull-local). A source hands over bytes as they came; the
// puller verifies every one of them before anything enters the repository.
import fs from 'node:fs';
import type { Checksum } from '../checksum.js';
import { isChecksum } from '../checksum.js';
import type { MetaObjectType } from '../objects/types.js';
import { isLnk } from '../objects/types.js';
import { objectRelPath } from '../layout.js';
import { deserialize, type GValue } from '../gvariant.js';
import { getKey, modeFromConfig, parseKeyFile, type RepoMode } from '../config.js';
import { contentMapRelPath, MAX_CONTENT_MAP_BYTES } from '../content-map.js';
import { MAX_PREFETCH_LIST_BYTES, prefetchListRelPath } from '../prefetch-list.js';
import { MAX_PREFETCH_PACK_BYTES, prefetchPackRelPath } from '../prefetch-pack.js';
import { HacktreeError, MalformedObjectError } from '../../errors.js';
import { HttpClient, type HttpStats } from './http.js';
import { decodeFilez, filezFetchOptions, type FetchedContent } from './filez.js';
import { parseArchiveHeader, type FileMeta } from '../objects/file-header.js';
import { FetchWorkers, type ContentStager } from './fetch-workers.js';
import { Repo } from '../repo.js';
import { listRefs, readRef } from '../refs.js';
import { SUMMARY_TYPE } from '../ops/summary.js';

/** ostree's own cap on a metadata object (OSTREE_MAX_METADATA_SIZE). */
export const MAX_META_BYTES = 128 << 20;

export type { FetchedContent };

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
  /** HTTP sources: the start of a content object (see HttpSource.contentHead). */
  contentHead?(csum: Checksum, bytes: number): Promise<{ whole: FetchedContent } | { meta: FileMeta; size: number } | null>;
  contentMap(commit: Checksum): Promise<Buffer | null>;
  /** HTTP sources: the commit's published prefetch list (prefetch-list.ts), or null. */
  prefetchList?(commit: Checksum): Promise<Buffer | null>;
  /** HTTP sources: the objects of that list in one file (prefetch-pack.ts), or null. */
  prefetchPack?(commit: Checksum): Promise<Buffer | null>;
  /**
   * Where the source can, a stager that fetches, verifies and writes content objects off the
   * main thread (see fetch-workers.ts); else the puller stages what content() returns.
   */
  contentStager?(mode: RepoMode): ContentStager;
  close(): void;
}

function parseRefFile(text: string, what: string): Checksum {
  const c = text.trim();
  if (!isChecksum(c)) throw new HacktreeError('BAD_SOURCE', `${what} does not hold a checksum`);
  return c;
}

export class HttpSource implements ObjectSource {
  private readonly http: HttpClient;
  /** `concurrency`: requests in flight (the client's default suits a pull, which has fetch workers besides). */
  constructor(readonly name: string, readonly url: string, concurrency?: number) {
    this.http = new HttpClient(url, concurrency);
  }

  get label(): string { return `remote '${this.name}'`; }
  private readonly stagers: FetchWorkers[] = [];
  /** Requests and bytes of this thread's client and of every fetch worker's. */
  get stats(): HttpStats {
    let { requests, bytes } = this.http.stats;
    for (const w of this.stagers) { requests += w.stats.requests; bytes += w.stats.bytes; }
    return { requests, bytes };
  }

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
    const whole = await this.http.get(objectRelPath(csum, 'filez'), filezFetchOptions());
    return whole && decodeFilez(csum, whole, this.label);
  }

  /**
   * The start of a .filez: the whole object when it is shorter than `bytes` (then as content()
   * gives it), else the metadata its header declares, not verifiable until the rest arrives.
   */
  async contentHead(csum: Checksum, bytes: number): Promise<{ whole: FetchedContent } | { meta: FileMeta; size: number } | null> {
    let partial = false;
    const got = await this.http.get(objectRelPath(csum, 'filez'), { ...filezFetchOptions(), range: { bytes, partial: (p) => { partial = p; } } });
    if (!got) return null;
    if (!partial || got.length < bytes) return { whole: await decodeFilez(csum, got, this.label) };
    let h;
    try { h = parseArchiveHeader(got); } catch {
      // A header longer than the part asked for (large xattrs): its first 4 bytes give its length.
      const hlen = got.length >= 4 ? 8 + got.readUInt32BE(0) : 0;
      if (hlen <= bytes || hlen > MAX_META_BYTES) throw new MalformedObjectError(`file object ${csum} from ${this.label}: malformed header`);
      return this.contentHead(csum, hlen + 1);
    }
    return { meta: h.meta, size: h.size };
  }

  contentStager(mode: RepoMode): ContentStager {
    const workers = new FetchWorkers({ url: this.url, label: this.label, mode });
    this.stagers.push(workers);
    return workers;
  }

  contentMap(commit: Checksum): Promise<Buffer | null> {
    return this.http.get(contentMapRelPath(commit), { maxBytes: MAX_CONTENT_MAP_BYTES });
  }

  prefetchList(commit: Checksum): Promise<Buffer | null> {
    return this.http.get(prefetchListRelPath(commit), { maxBytes: MAX_PREFETCH_LIST_BYTES });
  }

  prefetchPack(commit: Checksum): Promise<Buffer | null> {
    return this.http.get(prefetchPackRelPath(commit), { maxBytes: MAX_PREFETCH_PACK_BYTES });
  }

  close(): void {
    this.http.close();
    for (const w of this.stagers) void w.close();
  }
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
