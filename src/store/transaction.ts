// The one write path. Objects are staged in tmp/staging-*, the file system is
// synced, objects are linked into objects/ (never over an existing one), synced
// again, and only then are the index and refs updated. An aborted or crashed
// transaction leaves only its staging directory behind, which prune removes.
import fs from 'node:fs';
import { join, dirname } from 'node:path';
import { sha256Hex, type Checksum } from './checksum.js';
import type { Repo } from './repo.js';
import type { MetaObjectType, ObjectType } from './objects/types.js';
import type { FileMeta } from './objects/file-header.js';
import { isReg } from './objects/types.js';
import type { ContentSource } from './modes/storage.js';
import { hashBuffer, hashFileSync, type ContentHashes } from './content-hash.js';
import type { ContentIndex, IndexedObject } from './content-index.js';
import { writeRef, type RefName } from './refs.js';
import { syncFileSystem, syncFileSystemAsync } from './durable.js';

interface Staged { tmp: string; final: string }

/** Objects staged together, moved into objects/ (and the index) together. */
/** `records`: rows of the repo's index that describe objects of the batch (tree stats, link counts). */
interface Batch { staged: Map<string, Staged>; indexRows: IndexedObject[]; records: Array<(index: ContentIndex) => void> }

export interface TransactionStats {
  objectsWritten: number;
  contentBytesWritten: number;
}

export class Transaction {
  readonly stageDir: string;
  private staged = new Map<string, Staged>();
  private indexRows: IndexedObject[] = [];
  private records: Batch['records'] = [];
  /** A batch checkpointAsync() is moving in: staged still, until it is in objects/. */
  private moving: Map<string, Staged> | null = null;
  private done = false;
  readonly stats: TransactionStats = { objectsWritten: 0, contentBytesWritten: 0 };

  /**
   * `durable: false`: batches move in without waiting for the disk (a lazy mount's fetched
   * objects, which it syncs in the background and fetches again if a crash tore one).
   */
  private readonly durable: boolean;
  constructor(readonly repo: Repo, opts: { durable?: boolean } = {}) {
    this.stageDir = fs.mkdtempSync(join(repo.path, 'tmp', 'staging-'));
    this.durable = opts.durable ?? repo.durable;
  }

  /** True if the object is in the repo or staged here. */
  has(csum: Checksum, type: ObjectType): boolean {
    return this.staged.has(type + csum) || !!this.moving?.has(type + csum) || this.repo.hasObject(csum, type);
  }

  writeMeta(type: MetaObjectType, data: Buffer): Checksum {
    const csum = sha256Hex(data);
    if (this.has(csum, type)) return csum;
    const tmp = this.stagePath(csum, type);
    fs.writeFileSync(tmp, data, { mode: 0o644 });
    this.add(csum, type, tmp);
    return csum;
  }

  /**
   * Writes a content object from a buffer or a file. A file is copied into
   * staging first and the copy is hashed, so what is stored is what was hashed.
   */
  writeContent(meta: FileMeta, src: ContentSource): ContentHashes & { size: number } {
    if (src.kind === 'buffer' || !isReg(meta.mode)) {
      const data = src.kind === 'buffer' ? src.data : Buffer.alloc(0);
      const h = hashBuffer(meta, data);
      this.stageContent(h, meta, data.length, (tmp) => this.repo.storage.stage(tmp, meta, { kind: 'buffer', data }));
      return { ...h, size: data.length };
    }
    const tmp = join(this.stageDir, `incoming-${this.staged.size}-${process.hrtime.bigint()}`);
    fs.copyFileSync(src.path, tmp, fs.constants.COPYFILE_FICLONE);
    try {
      const h = hashFileSync(meta, tmp);
      const storage = this.repo.storage;
      this.stageContent(h, meta, h.size, (path) => {
        // A plain-content object is the copy itself: give it its metadata instead of copying it again.
        if (storage.adopt) { fs.renameSync(tmp, path); storage.adopt(path, meta); }
        else storage.stage(path, meta, { kind: 'file', path: tmp, size: h.size });
      });
      return h;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /**
   * Stages a content object a pull has verified: `h` was computed from `data` and
   * matched the checksum its tree names. `raw`, when given, is the object file as
   * fetched (an archive repo keeps a verified .filez as is instead of re-deflating).
   * Where the mode can, the file is created and written in libuv's pool (the
   * slow part of staging), so a pull goes on with the network meanwhile.
   */
  async writeVerifiedContent(h: ContentHashes, meta: FileMeta, data: Buffer, raw?: Buffer): Promise<void> {
    const path = this.stagePath(h.object, 'file');
    const storage = this.repo.storage;
    let written = false;
    if (!this.has(h.object, 'file')) {
      if (raw) { await fs.promises.writeFile(path, raw, { mode: 0o644 }); written = true; }
      else if (isReg(meta.mode) && storage.stageAsync) { await storage.stageAsync(path, meta, data); written = true; }
    }
    this.stageContent(h, meta, data.length, (p) => {
      if (!written) storage.stage(p, meta, { kind: 'buffer', data });
    });
  }

  /** Where a content object is staged: a pull's fetch workers write the objects they verified there. */
  contentStagePath(csum: Checksum): string {
    return this.stagePath(csum, 'file');
  }

  /**
   * Takes in a content object already written at contentStagePath(h.object) by
   * a writer that computed `h` from the bytes it wrote, and checked it against
   * the checksum the tree names.
   */
  adoptStagedContent(h: ContentHashes, meta: FileMeta, size: number): void {
    if (isReg(meta.mode)) this.indexRows.push({ object: h.object, sha256: h.sha256, size, meta });
    // The writer was handed the staging path only for an object absent from the repo (and
    // writers hold the repository lock): only this transaction's own batches need checking.
    const key = 'file' + h.object;
    if (this.staged.has(key) || this.moving?.has(key)) return;
    this.stats.contentBytesWritten += size;
    this.add(h.object, 'file', this.stagePath(h.object, 'file'));
  }

  /** Records a dirtree's stats (tree-stats.ts), indexed with the batch that moves the dirtree in. */
  addTreeStats(tree: Checksum, stats: Buffer): void {
    this.records.push((index) => index.putTreeStats(tree, stats));
  }

  /** Records a root dirtree's link counts (link-counts.ts), indexed with the batch that moves the dirtree in. */
  addLinkCounts(rootTree: Checksum, links: Buffer): void {
    this.records.push((index) => index.putLinkCounts(rootTree, links));
  }

  /** Records a tree's size (ops/sizes.ts), indexed with the batch that moves the dirtree in. */
  addTreeSize(tree: Checksum, size: { bytes: number; files: number }): void {
    this.records.push((index) => index.putTreeSize(tree, size));
  }

  /** Objects staged and not yet moved in. */
  get pending(): number {
    return this.staged.size;
  }

  /**
   * Moves what is staged so far into objects/ (and the index) and goes on
   * staging in the same directory: a long pull keeps what arrived if it is
   * interrupted. Refs move only in commit().
   */
  checkpoint(): void {
    if (this.done) throw new Error('transaction already finished');
    this.moveIn();
  }

  /**
   * checkpoint(), with the file system syncs in a child process: staging goes on
   * meanwhile (into the next batch), so a pull keeps its workers busy. One at a
   * time; the caller awaits it before commit() or abort().
   */
  async checkpointAsync(): Promise<void> {
    if (this.done) throw new Error('transaction already finished');
    if (this.moving) throw new Error('a checkpoint is already running');
    const batch = this.takeBatch();
    this.moving = batch.staged;
    try {
      if (this.durable && batch.staged.size > 0) await syncFileSystemAsync(this.stageDir);
      if (this.done) return;
      this.rename(batch);
      if (this.durable && batch.staged.size > 0) await syncFileSystemAsync(join(this.repo.path, 'objects'));
      this.index(batch);
    } finally {
      this.moving = null;
    }
  }

  /** Stages a content object whose checksum the caller has computed from the same bytes. */
  private stageContent(h: ContentHashes, meta: FileMeta, size: number, write: (path: string) => void): void {
    if (isReg(meta.mode)) this.indexRows.push({ object: h.object, sha256: h.sha256, size, meta });
    if (this.has(h.object, 'file')) return;
    const path = this.stagePath(h.object, 'file');
    write(path);
    this.stats.contentBytesWritten += size;
    this.add(h.object, 'file', path);
  }

  private stagePath(csum: Checksum, type: ObjectType): string {
    // Flat, unlike ostree's (which mirrors objects/): removing 256 emptied subdirectories at the
    // end cost ~50 ms here (each rmdir frees a block, discarded synchronously on this disk),
    // more than threads creating files in one directory lost to its lock.
    return join(this.stageDir, `${csum}.${type}`);
  }

  private add(csum: Checksum, type: ObjectType, tmp: string): void {
    this.staged.set(type + csum, { tmp, final: this.repo.objectPath(csum, type) });
    this.stats.objectsWritten++;
  }

  /** Moves every staged object into objects/, then updates the index and the refs. */
  commit(refs: Array<{ ref: RefName; checksum: Checksum }> = []): void {
    if (this.done) throw new Error('transaction already finished');
    try {
      this.moveIn();
      for (const { ref, checksum } of refs) writeRef(this.repo.path, ref, checksum, this.durable);
    } finally {
      this.cleanup();
    }
  }

  private moveIn(): void {
    if (this.moving) throw new Error('a checkpoint is still running');
    const batch = this.takeBatch();
    const durable = this.durable;
    if (durable && batch.staged.size > 0) syncFileSystem(this.stageDir);
    this.rename(batch);
    if (durable && batch.staged.size > 0) syncFileSystem(join(this.repo.path, 'objects'));
    this.index(batch);
  }

  /** What is staged so far; staging goes on into a new batch. */
  private takeBatch(): Batch {
    const batch = { staged: this.staged, indexRows: this.indexRows, records: this.records };
    this.staged = new Map();
    this.indexRows = [];
    this.records = [];
    return batch;
  }

  /** Links a synced batch into objects/. */
  private rename(batch: Batch): void {
    const made = new Set<string>();
    for (const { tmp, final } of batch.staged.values()) {
      const dir = dirname(final);
      if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
      // Writers hold the repository lock, so an object absent now stays absent until this
      // rename: an existing object is never replaced, and nothing is left to delete after.
      if (fs.lstatSync(final, { throwIfNoEntry: false }) === undefined) fs.renameSync(tmp, final);
    }
  }

  /** Indexes a batch once its objects are in objects/ (and synced there). */
  private index(batch: Batch): void {
    if (batch.indexRows.length === 0 && batch.records.length === 0) return;
    const index = this.repo.index;
    index.batch(() => {
      for (const r of batch.indexRows) index.put(r);
      for (const write of batch.records) write(index);
    });
  }

  abort(): void {
    if (!this.done) this.cleanup();
  }

  private cleanup(): void {
    this.done = true;
    fs.rmSync(this.stageDir, { recursive: true, force: true });
  }
}
