// Pull commits from a source (HTTP remote or local repo) into this repository.
//
// Every object is checksummed before it is staged; tree entries are checked
// when a dirtree is parsed. Objects go through the one write path in batches
// (every second or so), so an interrupted pull keeps what arrived, and a commit
// whose objects are incomplete is marked by state/COMMIT.commitpartial, as
// ostree does. Refs move only at the end, once every commit is complete.
//
// Content objects named in the commit's content map whose bytes are already
// here (found through the index by content) are rebuilt locally with their new
// metadata instead of downloaded; the rebuilt object must hash to the checksum
// the tree names, or it is downloaded after all.
import { commitPartialPath } from '../layout.js';
import fs from 'node:fs';
import { HacktreeError, CorruptObjectError, describeSystemError } from '../../errors.js';
import { sha256Hex, type Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { Transaction } from '../transaction.js';
import type { MetaObjectType } from '../objects/types.js';
import { parseCommit, type Commit } from '../objects/commit.js';
import { parseDirTree, type DirTree } from '../objects/dirtree.js';
import { parseDirMeta } from '../objects/dirmeta.js';
import { hashBuffer } from '../content-hash.js';
import { parseContentMap, type ContentMap } from '../content-map.js';
import type { RefName } from '../refs.js';
import { atomicWriteFileSync } from '../durable.js';
import type { ObjectSource } from '../remote/source.js';
import type { ContentStager } from '../remote/fetch-workers.js';
import { verifyCommitSignature, writeDetached, type PublicKey } from './sign.js';
import { noProgress, type Progress } from './progress.js';

export interface PullTarget { ref: RefName; commit: Checksum }

export interface PullOptions {
  /** Parents to pull besides each commit: 0 = the commit only, -1 = all history. */
  depth: number;
  /** When set, every commit pulled must carry a good ed25519 signature by one of these keys. */
  verify?: { keys: PublicKey[]; remote: string } | null;
  progress?: Progress;
}

export interface PullResult {
  commits: Checksum[];
  metaFetched: number;
  contentFetched: number;
  contentRebuilt: number;
  requests: number;
  bytes: number;
  seconds: number;
}

/** A batch is moved into objects/ after this long, or this many objects or bytes, whichever comes first. */
const BATCH_MS = 3000;
const BATCH_OBJECTS = 4000;
const BATCH_BYTES = 256 << 20;

export async function pull(repo: Repo, source: ObjectSource, targets: PullTarget[], opts: PullOptions): Promise<PullResult> {
  const lock = repo.lock();
  const p = new Puller(repo, source, opts);
  try {
    const commits: Checksum[] = [];
    for (const t of targets) commits.push(...await p.commitChain(t.commit));
    await p.settle();
    p.finish(targets.map((t) => ({ ref: t.ref, checksum: t.commit })), commits);
    return p.result(commits);
  } catch (e) {
    await p.settle(); // before the staging directory goes: nothing may write into it or move from it after
    p.abort();
    throw describeSystemError(e, 'pull failed');
  } finally {
    lock.release();
    (opts.progress ?? noProgress).finish();
  }
}


class Puller {
  private readonly tx: Transaction;
  private batchStart = Date.now();
  private batchBytes = 0;
  private readonly visited = new Set<string>();
  private readonly map: ContentMap = new Map();
  private readonly inflight = new Set<Promise<unknown>>();
  private failure: unknown = null;
  /** No content to rebuild from: the index was empty at the start, and no checkpoint has filled it since. */
  private indexEmpty: boolean;
  /** The checkpoint moving the last batch into objects/, while the pull goes on. */
  private checkpointing: Promise<void> | null = null;
  private readonly started = Date.now();
  private readonly stats = { metaFetched: 0, contentFetched: 0, contentRebuilt: 0, objects: 0 };
  private readonly progress: Progress;
  /** Fetches, verifies and writes content objects off this thread, when the source offers it. */
  private readonly stager: ContentStager | null;

  constructor(private readonly repo: Repo, private readonly source: ObjectSource, private readonly opts: PullOptions) {
    this.tx = new Transaction(repo);
    this.progress = opts.progress ?? noProgress;
    this.stager = source.contentStager?.(repo.mode) ?? null;
    this.indexEmpty = repo.index.isEmpty();
  }

  /** The commit and, per --depth, its ancestors: each fetched, verified and made complete. */
  async commitChain(head: Checksum): Promise<Checksum[]> {
    const done: Checksum[] = [];
    let c: Checksum | null = head;
    for (let level = 0; c && (this.opts.depth < 0 || level <= this.opts.depth); level++) {
      const commit = await this.commit(c, level === 0);
      if (!commit) break; // the source's history stops here
      done.push(c);
      c = commit.parent;
    }
    return done;
  }

  /** Fetches (or reads) a commit, checks its signature when required, then completes its tree. */
  private async commit(csum: Checksum, required: boolean): Promise<Commit | null> {
    const complete = this.repo.hasObject(csum, 'commit') && !fs.existsSync(commitPartialPath(this.repo.path, csum));
    let data: Buffer | null;
    if (this.repo.hasObject(csum, 'commit')) data = this.repo.readMetaObjectSync('commit', csum);
    else {
      data = await this.source.meta('commit', csum);
      if (!data) {
        if (required) throw new HacktreeError('BAD_SOURCE', `${this.source.label} has no commit object ${csum}`);
        return null;
      }
      this.checkMeta('commit', csum, data);
      this.stats.metaFetched++;
    }
    let commit: Commit;
    try { commit = parseCommit(data); } catch (e) { throw new CorruptObjectError(csum, 'commit', (e as Error).message); }
    const detached = await this.source.detached(csum);
    if (this.opts.verify) verifyCommitSignature(csum, data, detached, this.opts.verify.keys, this.opts.verify.remote);
    if (complete) return commit;
    // Marked partial before any of its objects can land in objects/.
    atomicWriteFileSync(commitPartialPath(this.repo.path, csum), '', this.repo.durable);
    if (!this.repo.hasObject(csum, 'commit')) this.stage(() => this.tx.writeMeta('commit', data!), data.length);
    if (detached) writeDetached(this.repo, csum, detached);
    await this.loadContentMap(csum);
    await this.all([this.dir(commit.rootTree, commit.rootMeta, '/')]);
    return commit;
  }

  /**
   * The content map is a hint: a missing or unreadable one only means more downloads. Into a
   * repository with no content indexed it cannot help (nothing to rebuild from), and fetching
   * and parsing it held up the start of a fresh pull (~60 ms for 5,000 files).
   */
  private async loadContentMap(commit: Checksum): Promise<void> {
    if (this.indexEmpty) return;
    const gz = await this.source.contentMap(commit);
    if (!gz) return;
    try {
      for (const [k, v] of parseContentMap(gz)) this.map.set(k, v);
    } catch { /* ignored: see above */ }
  }

  private async dir(tree: Checksum, meta: Checksum, path: string): Promise<void> {
    this.check();
    const work: Array<Promise<unknown>> = [];
    if (this.first('dirmeta', meta)) work.push(this.metaObject('dirmeta', meta, path));
    if (!this.first('dirtree', tree)) { await this.all(work); return; }
    const t = await this.metaObject('dirtree', tree, path) as DirTree;
    for (const f of t.files) if (this.first('file', f.checksum)) work.push(this.file(f.checksum, path === '/' ? `/${f.name}` : `${path}/${f.name}`));
    for (const d of t.dirs) work.push(this.dir(d.tree, d.meta, path === '/' ? `/${d.name}` : `${path}/${d.name}`));
    await this.all(work);
  }

  /** A dirtree or dirmeta: read here if present (checked on read), else fetched, checked, parsed and staged. */
  private async metaObject(type: 'dirtree' | 'dirmeta', csum: Checksum, path: string): Promise<DirTree | null> {
    if (this.repo.hasObject(csum, type)) return type === 'dirtree' ? this.repo.loadDirTree(csum) : null;
    const data = await this.source.meta(type, csum);
    this.check();
    if (!data) throw new HacktreeError('BAD_SOURCE', `${this.source.label} lacks ${type} object ${csum} (${path})`);
    this.checkMeta(type, csum, data);
    let parsed: DirTree | null = null;
    if (type === 'dirtree') parsed = parseDirTree(data, `dirtree ${csum} (${path})`);
    else {
      try { parseDirMeta(data); } catch (e) { throw new CorruptObjectError(csum, type, (e as Error).message); }
    }
    this.stats.metaFetched++;
    this.stage(() => this.tx.writeMeta(type, data), data.length);
    return parsed;
  }

  private checkMeta(type: MetaObjectType, csum: Checksum, data: Buffer): void {
    const got = sha256Hex(data);
    if (got !== csum) throw new CorruptObjectError(csum, type, `${this.source.label} sent ${data.length} bytes with checksum ${got}`);
  }

  private async file(csum: Checksum, path: string): Promise<void> {
    if (this.repo.hasObject(csum, 'file')) return;
    if (await this.rebuild(csum)) return;
    if (this.stager) return this.fetchStaged(this.stager, csum, path);
    const got = await this.source.content(csum);
    this.check();
    if (!got) throw new HacktreeError('BAD_SOURCE', `${this.source.label} lacks file object ${csum} (${path})`);
    const h = hashBuffer(got.meta, got.data);
    if (h.object !== csum) throw new CorruptObjectError(csum, 'file', `${this.source.label} sent an object with checksum ${h.object} for ${path}`);
    this.stats.contentFetched++;
    const raw = this.repo.mode === 'archive' ? got.raw : undefined;
    await this.stageAsync(() => this.tx.writeVerifiedContent(h, got.meta, got.data, raw), got.data.length);
  }

  /** The stager checks the checksum before it writes the object into staging; here it joins the transaction. */
  private async fetchStaged(stager: ContentStager, csum: Checksum, path: string): Promise<void> {
    this.check();
    const got = await stager.stage(csum, this.tx.contentStagePath(csum), path);
    this.check();
    if (!got) throw new HacktreeError('BAD_SOURCE', `${this.source.label} lacks file object ${csum} (${path})`);
    this.stats.contentFetched++;
    this.stage(() => this.tx.adoptStagedContent(got.hashes, got.meta, got.size), got.size);
  }

  /** Builds the object from bytes already here under other metadata, if the content map says which. */
  private async rebuild(csum: Checksum): Promise<boolean> {
    const e = this.map.get(csum);
    if (!e || this.indexEmpty) return false;
    for (const cand of this.repo.index.byContent(e.sha256)) {
      if (cand.size > (256 << 20) || !this.repo.hasObject(cand.object, 'file')) continue;
      let content: Buffer;
      try { ({ content } = await this.repo.readContent(cand.object)); } catch { continue; } // a bad local copy: download instead
      this.check();
      const h = hashBuffer(e.meta, content);
      if (h.object !== csum || h.sha256 !== e.sha256) continue;
      this.stats.contentRebuilt++;
      await this.stageAsync(() => this.tx.writeVerifiedContent(h, e.meta, content), content.length);
      return true;
    }
    return false;
  }

  /** Stages through the transaction, and moves the batch in when it is due. */
  private stage(write: () => void, bytes: number): void {
    this.check();
    write();
    this.staged(bytes);
  }

  private async stageAsync(write: () => Promise<void>, bytes: number): Promise<void> {
    this.check();
    await write();
    this.check();
    this.staged(bytes);
  }

  private staged(bytes: number): void {
    this.stats.objects++;
    this.batchBytes += bytes;
    if (this.stats.objects % 64 === 0) this.report();
    if (Date.now() - this.batchStart >= BATCH_MS || this.tx.pending >= BATCH_OBJECTS || this.batchBytes >= BATCH_BYTES) this.flush();
  }

  /** Moves the batch in while fetching goes on; a batch due while the last one is still moving waits for it. */
  private flush(): void {
    if (this.checkpointing) return;
    this.batchStart = Date.now();
    this.batchBytes = 0;
    this.checkpointing = this.tx.checkpointAsync().then(
      () => { this.checkpointing = null; this.indexEmpty = false; },
      (e: unknown) => { this.checkpointing = null; this.failure ??= e; void this.stager?.close(); },
    );
  }

  private report(): void {
    const mb = this.source.stats.bytes / 1e6;
    const secs = Math.max((Date.now() - this.started) / 1000, 0.001);
    this.progress.update(this.stats.objects, null, `objects, ${mb.toFixed(1)} MB fetched, ${(mb / secs).toFixed(1)} MB/s, ${this.stats.contentRebuilt} rebuilt locally`);
  }

  /** True the first time an object is seen in this pull. */
  private first(type: string, csum: Checksum): boolean {
    const k = type + csum;
    if (this.visited.has(k)) return false;
    this.visited.add(k);
    return true;
  }

  /** Awaits all; on the first failure, lets the rest stop (they check `failure`) before rethrowing. */
  private async all(work: Array<Promise<unknown>>): Promise<void> {
    for (const w of work) {
      this.inflight.add(w);
      w.then(() => this.inflight.delete(w), (e) => {
        this.inflight.delete(w);
        if (this.failure) return;
        this.failure = e;
        // Queued fetches would otherwise all run before the error is reported.
        void this.stager?.close();
      });
    }
    await Promise.allSettled(work);
    if (this.failure) throw this.failure;
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  finish(refs: Array<{ ref: RefName; checksum: Checksum }>, commits: Checksum[]): void {
    this.check(); // a checkpoint may have failed after the last object arrived
    this.tx.commit(refs);
    for (const c of commits) fs.rmSync(commitPartialPath(this.repo.path, c), { force: true });
  }

  /** Waits until no fetch worker can write into staging any more, and no checkpoint is moving objects. */
  async settle(): Promise<void> {
    await this.stager?.close();
    await this.checkpointing;
  }

  abort(): void {
    this.tx.abort();
  }

  result(commits: Checksum[]): PullResult {
    return { commits, ...this.stats, requests: this.source.stats.requests, bytes: this.source.stats.bytes, seconds: (Date.now() - this.started) / 1000 };
  }
}
