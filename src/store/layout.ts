// Paths inside a repository.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Checksum } from './checksum.js';

export const SUBDIRS = ['objects', 'refs/heads', 'refs/mirrors', 'refs/remotes', 'state', 'tmp', 'tmp/cache', 'extensions', 'hacktree'] as const;

/** Our own files sit in hacktree/: ostree ignores anything outside objects/ and refs/. */
export const indexDbPath = (repo: string): string => join(repo, 'hacktree', 'index.db');
export const lockDbPath = (repo: string): string => join(repo, 'hacktree', 'lock.db');

export function objectRelPath(csum: Checksum, ext: string): string {
  return `objects/${csum.slice(0, 2)}/${csum.slice(2)}.${ext}`;
}

/** Marks a commit whose objects may not all be here (an interrupted pull's, a lazy mount's), as ostree does. */
export const commitPartialPath = (repo: string, commit: Checksum): string => join(repo, 'state', `${commit}.commitpartial`);

/** True when some of the commit's objects may be missing (a lazy mount's, or an interrupted pull's). */
export function isPartial(repoPath: string, commit: Checksum): boolean {
  return existsSync(commitPartialPath(repoPath, commit));
}
