// Content objects of an HTTP pull are fetched, inflated, checksummed and
// written (content-fetcher.ts) by worker threads and, for a smaller share, by
// the main thread between its own tasks (big objects are inflated and written
// in libuv's pool there, so it stays responsive).
//
// Measured on 2 cores with nginx on the same machine (minbase pull, medians of
// 3, rotating order): main thread alone 1.89 s; one worker beside it, with 4 or 2
// requests on the main thread, 1.77 s and 1.73 s; ostree 1.70 s. A worker costs
// ~0.3 s of CPU of its own (its isolate compiles the same code again), so there is
// one per core beyond the first, at most 3. HACKTREE_PULL_WORKERS sets their number,
// HACKTREE_PULL_ON_MAIN the requests the main thread keeps in flight (0: none).
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Checksum } from '../checksum.js';
import type { RepoMode } from '../config.js';
import { fromErrorRecord, HacktreeError, type ErrorRecord } from '../../errors.js';
import type { HttpStats } from './http.js';
import { ContentFetcher, type FetchJob, type FetcherSetup, type StagedContent } from './content-fetcher.js';
import { distUrl } from '../../dist-paths.js';

export type { StagedContent };

export interface ContentStager {
  /** Fetches `csum`, verifies it and writes it at `stagePath`; null when the source lacks it. `path` is for messages. */
  stage(csum: Checksum, stagePath: string, path: string): Promise<StagedContent | null>;
  readonly stats: HttpStats;
  /** Stops fetching; jobs not yet done are refused. Returns once nothing can write into staging any more. */
  close(): Promise<void>;
}

export type FetchReply = { id: number; stats: HttpStats } & ({ staged: StagedContent | null } | { error: ErrorRecord });

/** Requests a worker keeps in flight: enough to hide round trips while it inflates. */
const PER_WORKER = 12;
/** Requests the main thread keeps in flight: fewer beside workers, as it also walks the trees and hands out jobs. */
const ON_MAIN = 8, ON_MAIN_BESIDE_WORKERS = 2;
/** Objects larger than this (compressed) are inflated and written off the main thread, which must stay responsive. */
const POOLED_ON_MAIN_ABOVE = 256 << 10;

/** A count from the environment (0 to 16), if set. */
function envCount(name: string): number | undefined {
  const v = process.env[name];
  const n = Number(v);
  return v && Number.isInteger(n) && n >= 0 ? Math.min(n, 16) : undefined;
}

function workerCount(): number {
  return envCount('HACKTREE_PULL_WORKERS') ?? Math.min(Math.max(availableParallelism() - 1, 1), 3);
}

interface Job extends FetchJob { resolve(s: StagedContent | null): void; reject(e: unknown): void }

/** Where jobs run: a worker thread, or this thread. */
interface Slot {
  readonly jobs: Map<number, Job>;
  readonly limit: number;
  stats: HttpStats;
  start(job: FetchJob): void;
  /** Sends what start() gathered (a worker gets its jobs in one message per pump). */
  flush?(): void;
  stop(): Promise<void>;
}

export class FetchWorkers implements ContentStager {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed: Promise<void> | null = null;

  constructor(setup: Omit<FetcherSetup, 'concurrency'>) {
    const workers = workerCount();
    for (let i = 0; i < workers; i++) this.slots.push(this.workerSlot({ ...setup, concurrency: PER_WORKER }));
    const onMain = envCount('HACKTREE_PULL_ON_MAIN') ?? (workers > 0 ? ON_MAIN_BESIDE_WORKERS : ON_MAIN);
    // With no worker, the main thread fetches whatever the setting says.
    if (onMain > 0 || workers === 0) this.slots.push(this.inlineSlot({ ...setup, concurrency: Math.max(onMain, 1) }));
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
      await Promise.all(this.slots.map((s) => s.stop()));
      for (const s of this.slots) {
        for (const j of s.jobs.values()) j.reject(stopped());
        s.jobs.clear();
      }
    })();
    return this.closed;
  }

  /** Hands queued jobs to the slots with room, the least busy first. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let best: Slot | null = null;
      for (const s of this.slots) if (s.jobs.size < s.limit && (!best || s.jobs.size / s.limit < best.jobs.size / best.limit)) best = s;
      if (!best) break; // jobs given out above must still be sent
      const job = this.queue.shift()!;
      best.jobs.set(job.id, job);
      best.start({ id: job.id, csum: job.csum, stagePath: job.stagePath, path: job.path });
    }
    for (const s of this.slots) s.flush?.();
  }

  /** Settles a job; the caller pumps once it has settled what arrived together. */
  private done(slot: Slot, id: number, outcome: { staged: StagedContent | null } | { error: unknown }): void {
    const job = slot.jobs.get(id);
    if (!job) return;
    slot.jobs.delete(id);
    if ('error' in outcome) job.reject(outcome.error);
    else job.resolve(outcome.staged);
  }

  private workerSlot(setup: FetcherSetup): Slot {
    const worker = new Worker(distUrl('store/remote/fetch-worker.js'), { workerData: setup });
    worker.unref(); // an idle worker must not keep the process alive; a busy one is ref'd
    let exited = false, stopping = false;
    let outbox: FetchJob[] = [];
    const slot: Slot = {
      jobs: new Map(),
      limit: setup.concurrency,
      stats: { requests: 0, bytes: 0 },
      start: (job) => {
        if (slot.jobs.size === 1) worker.ref();
        outbox.push(job);
      },
      flush: () => {
        if (outbox.length === 0) return;
        worker.postMessage(outbox);
        outbox = [];
      },
      // Ref'd while it stops, and kept so: a reply still on its way would otherwise unref an
      // idle worker, the loop would run dry before its exit, and a pull stopping on an error
      // would end without a word.
      stop: async () => {
        if (exited) return;
        stopping = true;
        worker.ref();
        await Promise.race([worker.terminate(), once(worker, 'exit')]);
      },
    };
    const lost = (e: unknown): void => {
      if (this.closed) return;
      // A worker that died fails the jobs it had (the pull stops on the first); the others go on.
      for (const j of slot.jobs.values()) j.reject(new HacktreeError('IO', `pull: a fetch worker failed: ${(e as Error).message ?? String(e)}`));
      slot.jobs.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
    };
    worker.on('message', (replies: FetchReply[]) => {
      for (const r of replies) {
        slot.stats = r.stats;
        this.done(slot, r.id, 'error' in r ? { error: fromErrorRecord(r.error) } : { staged: r.staged && { ...r.staged, meta: withBuffers(r.staged.meta) } });
      }
      if (slot.jobs.size === 0 && !stopping) worker.unref();
      this.pump();
    });
    worker.on('error', lost);
    worker.on('exit', (code) => { exited = true; lost(new Error(`exited with code ${code}`)); });
    return slot;
  }

  private inlineSlot(setup: FetcherSetup): Slot {
    const fetcher = new ContentFetcher(setup, POOLED_ON_MAIN_ABOVE);
    const running = new Set<Promise<unknown>>();
    const slot: Slot = {
      jobs: new Map(),
      limit: setup.concurrency,
      stats: { requests: 0, bytes: 0 },
      start: (job) => {
        const p = fetcher.stage(job).then(
          (staged) => { slot.stats = fetcher.stats; this.done(slot, job.id, { staged }); this.pump(); },
          (error: unknown) => { slot.stats = fetcher.stats; this.done(slot, job.id, { error }); this.pump(); },
        );
        running.add(p);
        void p.finally(() => running.delete(p));
      },
      stop: async () => {
        fetcher.close();
        await Promise.allSettled([...running]);
      },
    };
    return slot;
  }
}

const stopped = (): HacktreeError => new HacktreeError('IO', 'pull stopped');

/** Structured clone turns Buffers into plain Uint8Arrays: xattr values are Buffers again. */
function withBuffers(meta: StagedContent['meta']): StagedContent['meta'] {
  return { ...meta, xattrs: meta.xattrs.map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]) };
}
