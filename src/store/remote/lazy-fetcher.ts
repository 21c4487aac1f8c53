// A lazy mount's source of objects: each object is fetched from the remote the first time a
// read needs it, verified against its checksum, and kept as an ordinary object of the local
// repository, so a second mount is offline and a later pull has less to do.
//
// Fetched objects go through a Transaction like a pull's; their batches move into objects/
// one checkpoint at a time, and an object's fetch resolves once its batch is in. A fetch
// that cannot finish within the deadline fails (a read gives EIO) while it goes on in the
// background: when the server answers after all, the object lands and the next read has it.
import type { Checksum } from '../checksum.js';
import { sha256Hex } from '../checksum.js';
import type { Repo } from '../repo.js';
import type { ObjectType } from '../objects/types.js';
import type { ObjectFetcher } from '../object-fetcher.js';
import { Transaction } from '../transaction.js';
import { hashBuffer } from '../content-hash.js';
import { CorruptObjectError, HacktreeError } from '../../errors.js';
import type { ObjectSource } from './source.js';

export interface LazyFetchStats {
  /** Objects fetched and stored, and their bytes as they came over the wire. */
  objects: number;
  bytes: number;
  /** Fetches that failed (deadline, network, wrong bytes). */
  failures: number;
  /** The last failure's message, cleared by the next success. */
  lastError: string | null;
}

export class FetchTimeoutError extends HacktreeError {
  constructor(label: string, type: ObjectType, csum: Checksum, ms: number) {
    super('NETWORK', `${label} did not deliver ${type} object ${csum} within ${ms / 1000} s`);
  }
}

export class LazyFetcher implements ObjectFetcher {
  private tx: Transaction | null = null;
  private readonly inflight = new Map<string, Promise<boolean>>();
  /** The checkpoint that will take what is staged now, and the one running (they chain). */
  private next: Promise<void> | null = null;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  readonly stats: LazyFetchStats = { objects: 0, bytes: 0, failures: 0, lastError: null };

  constructor(private readonly repo: Repo, private readonly source: ObjectSource, private readonly opts: { timeoutMs: number }) {}

  get label(): string { return this.source.label; }

  /** One fetch per object at a time: a second reader waits for the first's. */
  fetch(type: ObjectType, csum: Checksum): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const key = type + csum;
    let p = this.inflight.get(key);
    if (!p) {
      const work = this.fetchAndStore(type, csum).finally(() => this.inflight.delete(key));
      work.then(() => { this.stats.lastError = null; }, (e: unknown) => { this.stats.failures++; this.stats.lastError = (e as Error).message; });
      this.inflight.set(key, work);
      p = work;
    }
    return withDeadline(p, this.opts.timeoutMs, () => new FetchTimeoutError(this.source.label, type, csum, this.opts.timeoutMs));
  }

  private async fetchAndStore(type: ObjectType, csum: Checksum): Promise<boolean> {
    const before = this.source.stats.bytes;
    if (type === 'file') {
      const got = await this.source.content(csum);
      if (!got) return false;
      const h = hashBuffer(got.meta, got.data);
      if (h.object !== csum) throw new CorruptObjectError(csum, 'file', `${this.source.label} sent an object with checksum ${h.object}`);
      await this.transaction().writeVerifiedContent(h, got.meta, got.data, this.repo.mode === 'archive' ? got.raw : undefined);
    } else {
      // Detached metadata comes with its commit (lazy-commit.ts): it is named after the commit, not its bytes.
      if (type === 'commitmeta') return false;
      const data = await this.source.meta(type, csum);
      if (!data) return false;
      const got = sha256Hex(data);
      if (got !== csum) throw new CorruptObjectError(csum, type, `${this.source.label} sent ${data.length} bytes with checksum ${got}`);
      this.transaction().writeMeta(type, data);
    }
    this.stats.objects++;
    this.stats.bytes += this.source.stats.bytes - before;
    await this.movedIn();
    return true;
  }

  private transaction(): Transaction {
    if (this.closed) throw new HacktreeError('NETWORK', 'the mount is stopping: nothing more is fetched');
    this.tx ??= new Transaction(this.repo);
    return this.tx;
  }

  /** Resolves once what is staged now is in objects/ and indexed. */
  private movedIn(): Promise<void> {
    if (this.next) return this.next;
    const next = this.running.catch(() => {}).then(() => {
      this.next = null;
      return this.tx!.checkpointAsync();
    });
    this.next = next;
    this.running = next;
    return next;
  }

  /** Moves in what is staged and removes the staging directory; later fetches find nothing. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.inflight.values());
    await this.running.catch(() => {});
    try { this.tx?.commit(); } catch { this.tx?.abort(); }
    this.source.close();
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, fail: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(fail()), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}
