// The index by content: sha256 of a file's bare bytes → the content objects
// that carry those bytes, with their metadata. Lets a later pull rebuild an
// object whose metadata changed from bytes already here. Also holds the commit
// stat cache (so an unchanged tree re-commits without reading file contents)
// the set of objects a mount found good, and each dirtree's entries as a mount
// shows them (tree-stats.ts), and each measured tree's size (so that a mount's
// statfs reads one row instead of walking the commit), and each measured commit's share its parent
// does not hold (so that `log` and `root list` walk a commit's tree once, not at every call).
import type Database from 'better-sqlite3';
import { sqliteDatabase } from './native-packages.js';
import type { Checksum } from './checksum.js';
import type { FileMeta } from './objects/file-header.js';
import { serialize, deserialize, type GValue } from './gvariant.js';
import { xattrsFromGValue, xattrsToGValue } from './objects/xattrs.js';

const SCHEMA_VERSION = 1;

export interface IndexedObject {
  object: Checksum;
  sha256: Checksum;
  size: number;
  meta: FileMeta;
}

export interface StatKey {
  dev: bigint;
  ino: bigint;
  /** Commit options that change the object (owner overrides etc.). */
  variant: string;
}

export interface StatStamp {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

const b = (c: Checksum): Buffer => Buffer.from(c, 'hex');

export class ContentIndex {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string, readonly: boolean = false) {
    this.db = new (sqliteDatabase())(path, { readonly, fileMustExist: readonly, timeout: 30_000 });
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.migrate();
    }
    this.stmts = {
      put: this.db.prepare('INSERT OR REPLACE INTO content (object, sha256, size, uid, gid, mode, xattrs) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      bySha: this.db.prepare('SELECT object, sha256, size, uid, gid, mode, xattrs FROM content WHERE sha256 = ?'),
      byObject: this.db.prepare('SELECT object, sha256, size, uid, gid, mode, xattrs FROM content WHERE object = ?'),
      del: this.db.prepare('DELETE FROM content WHERE object = ?'),
      statGet: this.db.prepare('SELECT size, mtime_ns, ctime_ns, object FROM stat_cache WHERE dev = ? AND ino = ? AND variant = ?'),
      statPut: this.db.prepare('INSERT OR REPLACE INTO stat_cache (dev, ino, variant, size, mtime_ns, ctime_ns, object) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      verifiedGet: this.db.prepare('SELECT ino, size, ctime_ns FROM verified WHERE object = ?'),
      verifiedPut: this.db.prepare('INSERT OR REPLACE INTO verified (object, ino, size, ctime_ns) VALUES (?, ?, ?, ?)'),
      treeStatsGet: this.db.prepare('SELECT stats FROM tree_stats WHERE tree = ?').pluck(),
      treeStatsHas: this.db.prepare('SELECT 1 FROM tree_stats WHERE tree = ?').pluck(),
      treeStatsPut: this.db.prepare('INSERT OR REPLACE INTO tree_stats (tree, stats) VALUES (?, ?)'),
      treeStatsDel: this.db.prepare('DELETE FROM tree_stats WHERE tree = ?'),
      linksGet: this.db.prepare('SELECT links FROM tree_links WHERE tree = ?').pluck(),
      linksPut: this.db.prepare('INSERT OR REPLACE INTO tree_links (tree, links) VALUES (?, ?)'),
      linksDel: this.db.prepare('DELETE FROM tree_links WHERE tree = ?'),
      sizeGet: this.db.prepare('SELECT bytes, files FROM tree_sizes WHERE tree = ?'),
      sizePut: this.db.prepare('INSERT OR REPLACE INTO tree_sizes (tree, bytes, files) VALUES (?, ?, ?)'),
      sizeDel: this.db.prepare('DELETE FROM tree_sizes WHERE tree = ?'),
      newGet: this.db.prepare('SELECT bytes, files FROM commit_new WHERE commit_id = ?'),
      newPut: this.db.prepare('INSERT OR REPLACE INTO commit_new (commit_id, bytes, files) VALUES (?, ?, ?)'),
      newDel: this.db.prepare('DELETE FROM commit_new WHERE commit_id = ?'),
      newAll: this.db.prepare('SELECT commit_id, bytes, files FROM commit_new'),
      count: this.db.prepare('SELECT count(*) AS n FROM content'),
      any: this.db.prepare('SELECT 1 FROM content LIMIT 1'),
    };
    // Nanosecond times pass 2^53: read them as bigint.
    this.stmts.statGet.safeIntegers(true);
    this.stmts.verifiedGet.safeIntegers(true);
  }

  private migrate(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS content (
        object BLOB PRIMARY KEY, sha256 BLOB NOT NULL, size INTEGER NOT NULL,
        uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL, xattrs BLOB NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS content_by_sha256 ON content (sha256);
      CREATE TABLE IF NOT EXISTS stat_cache (
        dev INTEGER NOT NULL, ino INTEGER NOT NULL, variant TEXT NOT NULL,
        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, object BLOB NOT NULL,
        PRIMARY KEY (dev, ino, variant)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS verified (
        object BLOB PRIMARY KEY, ino INTEGER NOT NULL, size INTEGER NOT NULL, ctime_ns INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS tree_stats (tree BLOB PRIMARY KEY, stats BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS tree_links (tree BLOB PRIMARY KEY, links BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS tree_sizes (tree BLOB PRIMARY KEY, bytes INTEGER NOT NULL, files INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS commit_new (commit_id BLOB PRIMARY KEY, bytes INTEGER NOT NULL, files INTEGER NOT NULL) WITHOUT ROWID;
    `);
    const row = this.db.prepare('SELECT version FROM schema').get() as { version: number } | undefined;
    if (!row) this.db.prepare('INSERT INTO schema (version) VALUES (?)').run(SCHEMA_VERSION);
  }

  /** Runs `fn` in one SQLite transaction: many small writes cost one commit. */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  put(o: IndexedObject): void {
    this.stmts.put.run(b(o.object), b(o.sha256), o.size, o.meta.uid, o.meta.gid, o.meta.mode, serialize('a(ayay)', xattrsToGValue(o.meta.xattrs)));
  }

  remove(object: Checksum): void {
    this.stmts.del.run(b(object));
  }

  byContent(sha256: Checksum): IndexedObject[] {
    return (this.stmts.bySha.all(b(sha256)) as Row[]).map(fromRow);
  }

  byObject(object: Checksum): IndexedObject | undefined {
    const r = this.stmts.byObject.get(b(object)) as Row | undefined;
    return r && fromRow(r);
  }

  count(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }

  /** True when no content object is indexed (cheaper than count() on a large index). */
  isEmpty(): boolean {
    return this.stmts.any.get() === undefined;
  }

  clear(): void {
    this.db.exec('DELETE FROM content; DELETE FROM stat_cache; DELETE FROM verified; DELETE FROM tree_stats; DELETE FROM tree_sizes; DELETE FROM commit_new;');
  }

  statLookup(k: StatKey, s: StatStamp): Checksum | null {
    const r = this.stmts.statGet.get(k.dev, k.ino, k.variant) as { size: bigint; mtime_ns: bigint; ctime_ns: bigint; object: Buffer } | undefined;
    if (!r || r.size !== s.size || r.mtime_ns !== s.mtimeNs || r.ctime_ns !== s.ctimeNs) return null;
    return r.object.toString('hex');
  }

  statRecord(k: StatKey, s: StatStamp, object: Checksum): void {
    this.stmts.statPut.run(k.dev, k.ino, k.variant, s.size, s.mtimeNs, s.ctimeNs, b(object));
  }

  isVerified(object: Checksum, ino: number, size: number, ctimeNs: bigint): boolean {
    const r = this.stmts.verifiedGet.get(b(object)) as { ino: bigint; size: bigint; ctime_ns: bigint } | undefined;
    return !!r && r.ino === BigInt(ino) && r.size === BigInt(size) && r.ctime_ns === ctimeNs;
  }

  /** The stamp of the object file as it was when last found good, if it was. */
  verifiedMark(object: Checksum): { ino: number; size: number; ctimeNs: bigint } | null {
    const r = this.stmts.verifiedGet.get(b(object)) as { ino: bigint; size: bigint; ctime_ns: bigint } | undefined;
    return r ? { ino: Number(r.ino), size: Number(r.size), ctimeNs: r.ctime_ns } : null;
  }

  markVerified(object: Checksum, ino: number, size: number, ctimeNs: bigint): void {
    this.stmts.verifiedPut.run(b(object), ino, size, ctimeNs);
  }

  /** The serialized tree stats of a dirtree (tree-stats.ts), if some were recorded. */
  treeStats(tree: Checksum): Buffer | undefined {
    return this.stmts.treeStatsGet.get(b(tree)) as Buffer | undefined;
  }

  hasTreeStats(tree: Checksum): boolean {
    return this.stmts.treeStatsHas.get(b(tree)) !== undefined;
  }

  /** Records a dirtree's stats, replacing a record that did not fit. */
  putTreeStats(tree: Checksum, stats: Buffer): void {
    this.stmts.treeStatsPut.run(b(tree), stats);
  }

  removeTreeStats(tree: Checksum): void {
    this.stmts.treeStatsDel.run(b(tree));
  }

  /** A root dirtree's link counts (link-counts.ts), if recorded. */
  linkCounts(rootTree: Checksum): Buffer | undefined {
    return this.stmts.linksGet.get(b(rootTree)) as Buffer | undefined;
  }

  putLinkCounts(rootTree: Checksum, links: Buffer): void {
    this.stmts.linksPut.run(b(rootTree), links);
  }

  removeLinkCounts(rootTree: Checksum): void {
    this.stmts.linksDel.run(b(rootTree));
  }

  /** A dirtree's size as sizes.ts measures it (its distinct file objects), if recorded. */
  treeSize(tree: Checksum): { bytes: number; files: number } | undefined {
    const r = this.stmts.sizeGet.get(b(tree)) as { bytes: number; files: number } | undefined;
    return r && { bytes: r.bytes, files: r.files };
  }

  putTreeSize(tree: Checksum, size: { bytes: number; files: number }): void {
    this.stmts.sizePut.run(b(tree), size.bytes, size.files);
  }

  removeTreeSize(tree: Checksum): void {
    this.stmts.sizeDel.run(b(tree));
  }

  /** What of a commit's tree its parent's does not hold (sizes.ts), if recorded. */
  commitNew(commit: Checksum): { bytes: number; files: number } | undefined {
    const r = this.stmts.newGet.get(b(commit)) as { bytes: number; files: number } | undefined;
    return r && { bytes: r.bytes, files: r.files };
  }

  putCommitNew(commit: Checksum, size: { bytes: number; files: number }): void {
    this.stmts.newPut.run(b(commit), size.bytes, size.files);
  }

  removeCommitNew(commit: Checksum): void {
    this.stmts.newDel.run(b(commit));
  }

  /** Every recorded share new against a parent, with its commit (for fsck). */
  allCommitNew(): Array<{ commit: Checksum; bytes: number; files: number }> {
    return (this.stmts.newAll.all() as Array<{ commit_id: Buffer; bytes: number; files: number }>).map((r) => ({ commit: r.commit_id.toString('hex'), bytes: r.bytes, files: r.files }));
  }

  close(): void {
    this.db.close();
  }
}

interface Row { object: Buffer; sha256: Buffer; size: number; uid: number; gid: number; mode: number; xattrs: Buffer }

function fromRow(r: Row): IndexedObject {
  return {
    object: r.object.toString('hex'),
    sha256: r.sha256.toString('hex'),
    size: r.size,
    meta: { uid: r.uid, gid: r.gid, mode: r.mode, symlinkTarget: '', xattrs: xattrsFromGValue(deserialize('a(ayay)', r.xattrs) as GValue) },
  };
}
