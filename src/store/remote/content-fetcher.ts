// Fetches one content object of an HTTP pull and stages it: GET the .filez,
// inflate it, check its checksum against the one its tree names, and only then
// write it at the staging path it was given, in the repository's mode. Runs in
// the fetch workers and, for a share of the objects, on the main thread (see
// fetch-workers.ts). The transaction alone moves staged objects into objects/.
import fs from 'node:fs';
import type { Checksum } from '../checksum.js';
import type { RepoMode } from '../config.js';
import type { ContentHashes } from '../content-hash.js';
import { hashBuffer } from '../content-hash.js';
import type { FileMeta } from '../objects/file-header.js';
import { objectRelPath } from '../layout.js';
import { storageFor } from '../modes/by-mode.js';
import type { ContentStorage } from '../modes/storage.js';
import { CorruptObjectError } from '../../errors.js';
import { HttpClient, type HttpStats } from './http.js';
import { decodeFilez, decodeFilezSync, filezFetchOptions } from './filez.js';
import { isReg } from '../objects/types.js';

export interface FetcherSetup { url: string; label: string; mode: RepoMode; concurrency: number }

export interface FetchJob { id: number; csum: Checksum; stagePath: string; path: string }

/** A content object verified and written at the staging path it was given. */
export interface StagedContent {
  /** Computed from the bytes written; `hashes.object` is the checksum asked for. */
  hashes: ContentHashes;
  meta: FileMeta;
  /** Content bytes (0 for a symlink). */
  size: number;
}

export class ContentFetcher {
  private readonly http: HttpClient;
  private readonly storage: ContentStorage;
  private closed = false;

  /**
   * `pooledAbove`: objects fetched larger than this (compressed) are inflated and written in
   * libuv's pool rather than on this thread.
   */
  constructor(private readonly setup: FetcherSetup, private readonly pooledAbove = Infinity) {
    this.http = new HttpClient(setup.url, setup.concurrency);
    this.storage = storageFor(setup.mode);
  }

  get stats(): HttpStats { return { ...this.http.stats }; }

  /** Null when the source lacks the object. */
  async stage(job: FetchJob): Promise<StagedContent | null> {
    const whole = await this.http.get(objectRelPath(job.csum, 'filez'), filezFetchOptions());
    if (!whole) return null;
    const { label, mode } = this.setup;
    const keepRaw = mode === 'archive';
    // Where this thread has other work (the main thread hands out the jobs), a big object is
    // inflated and written in libuv's pool: done inline, one 30 MB object held it for ~0.5 s.
    const pooled = whole.length > this.pooledAbove;
    const got = pooled ? await decodeFilez(job.csum, whole, label, keepRaw) : decodeFilezSync(job.csum, whole, label, keepRaw);
    const h = hashBuffer(got.meta, got.data);
    if (h.object !== job.csum) throw new CorruptObjectError(job.csum, 'file', `${label} sent an object with checksum ${h.object} for ${job.path}`);
    // close() waits for the writes it did not prevent: none may start after it.
    if (this.closed) throw new Error('fetcher closed');
    // An archive repository keeps a verified .filez in canonical form as it came, instead of deflating it again.
    if (mode === 'archive' && got.raw) {
      if (pooled) await fs.promises.writeFile(job.stagePath, got.raw, { mode: 0o644 });
      else fs.writeFileSync(job.stagePath, got.raw, { mode: 0o644 });
    } else if (pooled && isReg(got.meta.mode) && this.storage.stageAsync) {
      await this.storage.stageAsync(job.stagePath, got.meta, got.data);
    } else {
      this.storage.stage(job.stagePath, got.meta, { kind: 'buffer', data: got.data });
    }
    return { hashes: h, meta: got.meta, size: got.data.length };
  }

  /** Drops the connections: requests in flight fail, and nothing is written after. */
  close(): void {
    this.closed = true;
    this.http.close();
  }
}
