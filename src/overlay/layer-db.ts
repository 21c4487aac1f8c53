// What a directory of real files cannot say about a layer: which base entries
// were deleted (whiteouts), which directories hide their base contents
// (opaque), metadata-only changes to base entries, and the writable rules.
import type Database from 'better-sqlite3';
import { sqliteDatabase } from '../store/native-packages.js';
import type { Xattrs } from '../store/objects/types.js';
import { serialize, deserialize, type GValue } from '../store/gvariant.js';
import { xattrsFromGValue, xattrsToGValue } from '../store/objects/xattrs.js';

/** A metadata-only change to a base entry (its content stays in the store). */
export interface MetaOverride {
  uid: number;
  gid: number;
  /** Full st_mode. */
  mode: number;
  xattrs: Xattrs;
  /** ms since the epoch; null = as in the base */
  mtime: number | null;
  atime: number | null;
  /** ms since the epoch of the last recorded change; null = as in the base */
  ctime: number | null;
}

export class LayerDb {
  private readonly db: Database.Database;
  private readonly st;

  constructor(path: string) {
    this.db = new (sqliteDatabase())(path, { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    // Layer metadata must survive a crash as well as the files beside it do.
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS whiteout (path TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS opaque (path TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (
        path TEXT PRIMARY KEY, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL,
        xattrs BLOB NOT NULL, mtime INTEGER, atime INTEGER
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS rule (pos INTEGER PRIMARY KEY, glob TEXT NOT NULL);
    `);
    // Layers made before metadata records kept their change time.
    if (!(this.db.prepare('PRAGMA table_info(meta)').all() as Array<{ name: string }>).some((c) => c.name === 'ctime')) {
      this.db.exec('ALTER TABLE meta ADD COLUMN ctime INTEGER');
    }
    this.st = {
      addWhiteout: this.db.prepare('INSERT OR IGNORE INTO whiteout (path) VALUES (?)'),
      delWhiteout: this.db.prepare('DELETE FROM whiteout WHERE path = ?'),
      addOpaque: this.db.prepare('INSERT OR IGNORE INTO opaque (path) VALUES (?)'),
      putMeta: this.db.prepare('INSERT OR REPLACE INTO meta (path, uid, gid, mode, xattrs, mtime, atime, ctime) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      delMeta: this.db.prepare('DELETE FROM meta WHERE path = ?'),
    };
  }

  loadAll(): { whiteouts: string[]; opaque: string[]; meta: Map<string, MetaOverride>; rules: string[] } {
    const meta = new Map<string, MetaOverride>();
    for (const r of this.db.prepare('SELECT * FROM meta').all() as Array<{ path: string; uid: number; gid: number; mode: number; xattrs: Buffer; mtime: number | null; atime: number | null; ctime: number | null }>) {
      meta.set(r.path, { uid: r.uid, gid: r.gid, mode: r.mode, xattrs: xattrsFromGValue(deserialize('a(ayay)', r.xattrs) as GValue), mtime: r.mtime, atime: r.atime, ctime: r.ctime });
    }
    return {
      whiteouts: (this.db.prepare('SELECT path FROM whiteout').all() as Array<{ path: string }>).map((r) => r.path),
      opaque: (this.db.prepare('SELECT path FROM opaque').all() as Array<{ path: string }>).map((r) => r.path),
      meta,
      rules: (this.db.prepare('SELECT glob FROM rule ORDER BY pos').all() as Array<{ glob: string }>).map((r) => r.glob),
    };
  }

  setRules(globs: readonly string[]): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM rule');
      const ins = this.db.prepare('INSERT INTO rule (pos, glob) VALUES (?, ?)');
      globs.forEach((g, i) => ins.run(i, g));
    })();
  }

  addWhiteout(path: string): void { this.st.addWhiteout.run(path); }
  removeWhiteout(path: string): void { this.st.delWhiteout.run(path); }
  addOpaque(path: string): void { this.st.addOpaque.run(path); }
  putMeta(path: string, m: MetaOverride): void {
    this.st.putMeta.run(path, m.uid, m.gid, m.mode, serialize('a(ayay)', xattrsToGValue(m.xattrs)), m.mtime, m.atime, m.ctime);
  }
  removeMeta(path: string): void { this.st.delMeta.run(path); }

  /** Removes every record at or below `path` ('/' clears the layer); `whiteout`: then whites `path` out, in the same transaction. */
  clearBelow(path: string, whiteout = false): void {
    this.db.transaction(() => {
      for (const t of ['whiteout', 'opaque', 'meta']) {
        if (path === '/') this.db.exec(`DELETE FROM ${t}`);
        else this.db.prepare(`DELETE FROM ${t} WHERE path = ? OR substr(path, 1, ?) = ?`).run(path, path.length + 1, `${path}/`);
      }
      if (whiteout) this.st.addWhiteout.run(path);
    })();
  }

  close(): void { this.db.close(); }

  /**
   * Copies the database at `from` to `to` as one consistent state, also while the daemon
   * that owns it writes; read-only, so `from` is left exactly as it was.
   */
  static async snapshot(from: string, to: string): Promise<void> {
    const Sqlite = sqliteDatabase();
    const src = new Sqlite(from, { readonly: true, fileMustExist: true, timeout: 10_000 });
    try { await src.backup(to); } finally { src.close(); }
  }
}
