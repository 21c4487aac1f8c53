// Which storage writes a repository mode's content objects. Kept apart from repo.ts so a
// worker thread that stages objects loads only the storages, not the index and its SQLite.
import type { RepoMode } from '../config.js';
import type { ContentStorage } from './storage.js';
import { bareUserStorage } from './bare-user.js';
import { bareStorage } from './bare.js';
import { archiveStorage } from './archive.js';

export function storageFor(mode: RepoMode): ContentStorage {
  switch (mode) {
    case 'bare': return bareStorage;
    case 'bare-user': case 'bare-user-only': return bareUserStorage;
    case 'archive': return archiveStorage;
  }
}
