// Content objects of an HTTP pull are fetched, inflated, checksummed and
// written by worker threads (fetch-worker.ts), so every core works on them and
// the main thread only walks trees and keeps the transaction. Per object, that
// work is ~5x what the walk costs: on one thread it was the whole pull's
// bottleneck. Each worker keeps its own keep-alive connections.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Checksum } from '../checksum.js';
import type { RepoMode } from '../config.js';
import type { ContentHashes } from '../content-hash.js';
import type { FileMeta } from '../objects/file-header.js';
import { fromErrorRecord, HacktreeError, type ErrorRecord } from '../../errors.js';
import type { HttpStats } from './http.js';

/** A content object a worker has verified and written at the staging path it was given. */
export interface StagedContent {
  /** Computed from the bytes written; `hashes.object` is the checksum asked for. */
  hashes: ContentHashes;
  meta: FileMeta;
  /** Content bytes (0 for a symlink). */
  size: number;
}

export interface ContentStager {
  /** Fetches `csum`, verifies it and writes it at `stagePath`; null when the source lacks it. `path` is for messages. */
  stage(csum: Checksum, stagePath: string, path: string): Promise<StagedContent | null>;
  readonly stats: HttpStats;
  /** Stops the workers; jobs not yet done are refused. Returns once no worker can write any more. */
  close(): Promise<void>;
}

export interface FetchWorkerSetup { url: string; label: string; mode: RepoMode; concurrency: number }
export interface FetchJob { id: number; csum: Checksum; stagePath: string; path: string }
export type FetchReply = { id: number; stats: HttpStats } & ({ staged: StagedContent | null } | { error: ErrorRecord });

/** Requests each worker keeps in flight: enough to hide a round trip while it inflates. */
const PER_WORKER = 6;

function workerCount(): number {
  const env = Number(process.env.HACKTREE_PULL_WORKERS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.min(Math.max(availableParallelism(), 2), 4);
}

interface Job extends FetchJob { resolve(s: StagedContent | null): void; reject(e: unknown): void }
interface Slot { worker: Worker; jobs: Map<number, Job>; stats: HttpStats }

export class FetchWorkers implements ContentStager {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed: Promise<void> | null = null;

  constructor(setup: Omit<FetchWorkerSetup, 'concurrency'>) {
    for (let i = 0; i < workerCount(); i++) {
      const worker = new Worker(new URL('./fetch-worker.js', import.meta.url), { workerData: { ...setup, concurrency: PER_WORKER } satisfies FetchWorkerSetup });
      const slot: Slot = { worker, jobs: new Map(), stats: { requests: 0, bytes: 0 } };
      worker.unref(); // idle workers must not keep the process alive; busy ones are ref'd
      worker.on('message', (r: FetchReply) => this.done(slot, r));
      worker.on('error', (e) => this.lost(slot, e));
      worker.on('exit', (code) => this.lost(slot, new Error(`fetch worker exited with code ${code}`)));
      this.slots.push(slot);
    }
  }

  get stats(): HttpStats {
    let requests = 0, bytes = 0;
    for (const s of this.slots) { requests += s.stats.requests; bytes += s.stats.bytes; }
    return { requests, bytes };
  }

  stage(csum: Checksum, stagePath: string, path: string): Promise<StagedContent | null> {
    if (this.closed) return Promise.reject(stopped());
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, csum, stagePath, path, resolve, reject });
      this.pump();
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const j of this.queue.splice(0)) j.reject(stopped());
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
      for (const s of this.slots) {
        for (const j of s.jobs.values()) j.reject(stopped());
        s.jobs.clear();
      }
    })();
    return this.closed;
  }

  /** Hands queued jobs to the least busy workers that have room. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let best: Slot | null = null;
      for (const s of this.slots) if (s.jobs.size < PER_WORKER && (!best || s.jobs.size < best.jobs.size)) best = s;
      if (!best) return;
      const job = this.queue.shift()!;
      if (best.jobs.size === 0) best.worker.ref();
      best.jobs.set(job.id, job);
      best.worker.postMessage({ id: job.id, csum: job.csum, stagePath: job.stagePath, path: job.path } satisfies FetchJob);
    }
  }

  private done(slot: Slot, r: FetchReply): void {
    slot.stats = r.stats;
    const job = slot.jobs.get(r.id);
    if (!job) return;
    slot.jobs.delete(r.id);
    if (slot.jobs.size === 0) slot.worker.unref();
    if ('error' in r) job.reject(fromErrorRecord(r.error));
    else job.resolve(r.staged && { ...r.staged, meta: withBuffers(r.staged.meta) });
    this.pump();
  }

  /** A worker that died (not by close()) fails the jobs it had; the pull stops on the first. */
  private lost(slot: Slot, e: unknown): void {
    if (this.closed) return;
    for (const j of slot.jobs.values()) j.reject(new HacktreeError('IO', `pull: a fetch worker failed: ${(e as Error).message ?? String(e)}`));
    slot.jobs.clear();
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    if (this.slots.length === 0) for (const j of this.queue.splice(0)) j.reject(new HacktreeError('IO', 'pull: no fetch worker left'));
  }
}

const stopped = (): HacktreeError => new HacktreeError('IO', 'pull stopped');

/** Structured clone turns Buffers into plain Uint8Arrays: xattr values are Buffers again. */
function withBuffers(meta: FileMeta): FileMeta {
  return { ...meta, xattrs: meta.xattrs.map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]) };
}
