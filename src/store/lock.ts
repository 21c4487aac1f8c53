// The repository's writer lock: an SQLite write transaction on hacktree/lock.db.
// SQLite takes a real kernel lock (fcntl), released if the holder dies, and its
// busy timeout makes a second writer wait its turn instead of failing.
import type Database from 'better-sqlite3';
import { sqliteDatabase } from './native-packages.js';
import { HacktreeError } from '../errors.js';

export class RepoLock {
  private db: Database.Database | null;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static acquire(path: string, timeoutMs = 3_600_000): RepoLock {
    const db = new (sqliteDatabase())(path, { timeout: timeoutMs });
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      db.close();
      throw new HacktreeError('LOCKED', `repository is locked by another writer (waited ${Math.round(timeoutMs / 1000)} s)`, { cause: e });
    }
    return new RepoLock(db);
  }

  release(): void {
    if (!this.db) return;
    try { this.db.exec('ROLLBACK'); } finally { this.db.close(); this.db = null; }
  }
}
