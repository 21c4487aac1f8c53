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
import type { ObjectSource, FetchedContent } from './source.js';
import type { ObjectInfo } from '../modes/storage.js';
import fs from 'node:fs';
import { join } from 'node:path';
import { syncFileSystemAsync } from '../durable.js';
import { kindType, MAX_PREFETCH_ENTRIES, parsePrefetchList, type PrefetchEntry, type PrefetchKind } from '../prefetch-list.js';
import { HEAD_BYTES, type PackEntry } from '../prefetch-pack.js';
import { decodeFilez } from './filez.js';
import { parseArchiveHeader } from '../objects/file-header.js';

/** How long fetched objects may wait for the disk: ext4's own commit interval. */
const SYNC_DELAY_MS = 5000;
/** Headers kept in memory (~300 bytes each). */
const MAX_HEADERS = 100_000;

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
  private readonly heads = new Map<string, Promise<ObjectInfo | null>>();
  private readonly storing = new Map<Checksum, Promise<void>>();
  /** Metadata of large objects known by their header only (their content is fetched when read). */
  private readonly headers = new Map<Checksum, ObjectInfo>();
  /** The prefetch list being recorded (null when not, or no longer), and the one recorded. */
  private recording: PrefetchEntry[] | null;
  private finished: PrefetchEntry[] | null = null;
  private readonly recordUntil: number;
  /** The checkpoint that will take what is staged now, and the one running (they chain). */
  private next: Promise<void> | null = null;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  private readonly counts = { objects: 0, failures: 0, lastError: null as string | null };

  get stats(): LazyFetchStats {
    return { ...this.counts, bytes: this.source.stats.bytes };
  }

  /** `recordMs`: record a prefetch list of what is fetched in this many ms from now (0: none). */
  constructor(private readonly repo: Repo, private readonly source: ObjectSource, private readonly opts: { timeoutMs: number; recordMs?: number }) {
    this.recording = opts.recordMs ? [] : null;
    this.recordUntil = Date.now() + (opts.recordMs ?? 0);
  }

  get label(): string { return this.source.label; }

  /** One fetch per object at a time: a second reader waits for the first's. */
  fetch(type: ObjectType, csum: Checksum): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return this.once(this.inflight, type + csum, () => this.fetchAndStore(type, csum), type, csum);
  }

  /**
   * `work` once per key while it runs (later callers join it), its failures counted, and each
   * caller given up on after the deadline (the work goes on: its object lands for the next read).
   */
  private once<T>(running: Map<string, Promise<T>>, key: string, work: () => Promise<T>, type: ObjectType, csum: Checksum): Promise<T> {
    let p = running.get(key);
    if (!p) {
      const w = work().finally(() => running.delete(key));
      w.then(() => { this.counts.lastError = null; }, (e: unknown) => { this.counts.failures++; this.counts.lastError = (e as Error).message; });
      running.set(key, w);
      p = w;
    }
    return withDeadline(p, this.opts.timeoutMs, () => new FetchTimeoutError(this.source.label, type, csum, this.opts.timeoutMs));
  }

  /**
   * A content object's metadata, from the first HEAD_BYTES of its .filez: most files of an OS
   * fit, and come whole (verified and stored); of a larger one only the header is read, and its
   * content is fetched when it is first read. A listing of /usr/bin then costs a request per
   * file, not the bytes of every program in it.
   */
  fetchInfo(csum: Checksum): Promise<ObjectInfo | null> {
    const wholeMeta = (ok: boolean): Promise<ObjectInfo | null> => (ok ? this.repo.storage.readMeta(this.repo.objectPath(csum, 'file')) : Promise.resolve(null));
    // The whole object on its way already (a walk's fetch-ahead): its header comes with it.
    const whole = this.inflight.get('file' + csum);
    if (whole) return withDeadline(whole, this.opts.timeoutMs, () => new FetchTimeoutError(this.source.label, 'file', csum, this.opts.timeoutMs)).then(wholeMeta);
    if (this.closed || !this.source.contentHead) return this.fetch('file', csum).then(wholeMeta);
    return this.once(this.heads, csum, () => this.fetchHead(csum), 'file', csum);
  }

  private async fetchHead(csum: Checksum): Promise<ObjectInfo | null> {
    const known = this.headers.get(csum);
    if (known) return known;
    const got = await this.source.contentHead!(csum, HEAD_BYTES);
    if (!got) return null;
    if ('meta' in got) {
      const info = { meta: got.meta, size: got.size };
      if (this.headers.size >= MAX_HEADERS) this.headers.delete(this.headers.keys().next().value!);
      this.headers.set(csum, info);
      this.note('h', csum);
      return info;
    }
    await this.storeContent(csum, got.whole);
    this.note('f', csum);
    return { meta: got.whole.meta, size: got.whole.data.length };
  }

  /** True when a content object's header is known here (ingestPack, fetchInfo): a listing needs no request for it. */
  hasHeader(csum: Checksum): boolean {
    return this.headers.has(csum);
  }

  /** The commit's prefetch list as the remote publishes it, or null (none, or unreadable: it is only a hint). */
  async publishedPrefetchList(commit: Checksum): Promise<PrefetchEntry[] | null> {
    try {
      const got = await this.source.prefetchList?.(commit);
      return got ? parsePrefetchList(got.toString('utf8')) : null;
    } catch {
      return null;
    }
  }

  /**
   * Takes in a prefetch pack's objects (prefetch-pack.ts) as if each had been fetched: verified,
   * stored, headers kept in memory; an entry that fails its check is dropped (a read fetches
   * that object as any other). Resolves once the stored ones are in objects/.
   */
  async ingestPack(entries: readonly PackEntry[]): Promise<{ stored: number; headers: number; dropped: number }> {
    const n = { stored: 0, headers: 0, dropped: 0 };
    const one = async (e: PackEntry): Promise<void> => {
      const type = kindType(e.kind);
      if (e.kind !== 'h' && this.repo.hasObject(e.checksum, type)) return;
      try {
        if (e.kind === 'h') {
          const h = parseArchiveHeader(e.bytes);
          if (!this.headers.has(e.checksum) && this.headers.size < MAX_HEADERS) this.headers.set(e.checksum, { meta: h.meta, size: h.size });
          n.headers++;
        } else if (e.kind === 'f') {
          await this.storeContent(e.checksum, await decodeFilez(e.checksum, e.bytes, `${this.source.label}'s prefetch pack`));
          n.stored++;
        } else {
          this.stageMeta(type as 'dirtree' | 'dirmeta', e.checksum, e.bytes, () => `${this.source.label}'s prefetch pack holds other bytes`);
          n.stored++;
        }
      } catch {
        n.dropped++;
      }
    };
    // A few at a time: a pack's files are inflated in libuv's pool, and all of a large one at once would be its whole size in memory.
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => { while (next < entries.length) await one(entries[next++]!); }));
    if (n.stored > 0) await this.movedIn();
    return n;
  }

  /** Adds to the prefetch list being recorded, while the start lasts. */
  private note(kind: PrefetchKind, csum: Checksum): void {
    if (!this.recording) return;
    if (Date.now() > this.recordUntil || this.recording.length >= MAX_PREFETCH_ENTRIES) { this.finished = this.recording; this.recording = null; return; }
    this.recording.push({ kind, checksum: csum });
  }

  stopRecording(): void {
    this.recording = null;
  }

  /** What this mount fetched while it started (its first `recordMs`), once that is over (or `now`: the mount stops); else null. */
  recorded(now = false): PrefetchEntry[] | null {
    if (this.recording && (now || Date.now() > this.recordUntil)) { this.finished = this.recording; this.recording = null; }
    return this.finished;
  }

  /**
   * One store per object at a time: a listing's header request that brought a small object whole
   * and a read (or the prefetch list) fetching the same object would otherwise stage it twice
   * into one staging path, one writer renaming it away under the other.
   */
  private storeContent(csum: Checksum, got: FetchedContent): Promise<void> {
    let p = this.storing.get(csum);
    if (!p) {
      p = this.stage(csum, got).finally(() => this.storing.delete(csum));
      this.storing.set(csum, p);
    }
    return p;
  }

  private async stage(csum: Checksum, got: FetchedContent): Promise<void> {
    const h = hashBuffer(got.meta, got.data);
    if (h.object !== csum) throw new CorruptObjectError(csum, 'file', `${this.source.label} sent an object with checksum ${h.object}`);
    await this.transaction().writeVerifiedContent(h, got.meta, got.data, this.repo.mode === 'archive' ? got.raw : undefined);
    this.counts.objects++;
    await this.movedIn();
  }

  private async fetchAndStore(type: ObjectType, csum: Checksum): Promise<boolean> {
    // A caller that missed the object just before another's fetch of it moved in (fetch-ahead
    // and a lookup asking for one dirtree) finds it here now: without this a few dirtrees of a
    // start came twice.
    if (await fs.promises.access(this.repo.objectPath(csum, type)).then(() => true, () => false)) return true;
    if (type === 'file') {
      const got = await this.source.content(csum);
      if (!got) return false;
      await this.storeContent(csum, got);
      this.note('f', csum);
      return true;
    } else {
      // Detached metadata comes with its commit (lazy-commit.ts): it is named after the commit, not its bytes.
      if (type === 'commitmeta') return false;
      const data = await this.source.meta(type, csum);
      if (!data) return false;
      this.stageMeta(type, csum, data, (got) => `${this.source.label} sent ${data.length} bytes with checksum ${got}`);
    }
    await this.movedIn();
    this.note(type === 'dirtree' ? 't' : 'm', csum);
    return true;
  }

  /** A metadata object checked against its checksum and staged (`wrong` says why bytes with checksum `got` are refused). */
  private stageMeta(type: Exclude<ObjectType, 'file' | 'commitmeta'>, csum: Checksum, data: Buffer, wrong: (got: string) => string): void {
    const got = sha256Hex(data);
    if (got !== csum) throw new CorruptObjectError(csum, type, wrong(got));
    this.transaction().writeMeta(type, data);
    this.counts.objects++;
  }

  private transaction(): Transaction {
    if (this.closed) throw new HacktreeError('NETWORK', 'the mount is stopping: nothing more is fetched');
    // A read waits for its object's batch to move in, not for the disk: two syncs per batch
    // were most of a first `ls` (9.9 s against 3.9 s over a 20 ms link). The disk is synced
    // in the background instead (syncSoon), and an object a crash tore is fetched again (Repo).
    this.tx ??= new Transaction(this.repo, { durable: false });
    return this.tx;
  }

  /** Syncs what moved in within SYNC_DELAY_MS, once for everything that moved in meanwhile. */
  private syncSoon(): void {
    if (!this.repo.durable || this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.syncing = this.syncing.then(() => syncFileSystemAsync(join(this.repo.path, 'objects'))).catch(() => {});
    }, SYNC_DELAY_MS);
  }

  /** Resolves once what is staged now is in objects/ and indexed. */
  private movedIn(): Promise<void> {
    if (this.next) return this.next;
    const next = this.running.catch(() => {}).then(async () => {
      this.next = null;
      await this.tx!.checkpointAsync();
      this.syncSoon();
    });
    this.next = next;
    this.running = next;
    return next;
  }

  /** Moves in what is staged and removes the staging directory; later fetches find nothing. */
  async close(): Promise<void> {
    this.closed = true;
    // Requests still on the wire fail at once (fetch-ahead may have many waiting on a server
    // that went silent); what has arrived is still stored.
    this.source.close();
    await Promise.allSettled([...this.inflight.values(), ...this.heads.values()]);
    await this.running.catch(() => {});
    try { this.tx?.commit(); } catch { this.tx?.abort(); }
    if (this.syncTimer) { clearTimeout(this.syncTimer); this.syncTimer = null; }
    if (this.tx && this.repo.durable) await this.syncing.then(() => syncFileSystemAsync(join(this.repo.path, 'objects'))).catch(() => {});
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, fail: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(fail()), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}
