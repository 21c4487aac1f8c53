// Publishing a prefetch list on a server: the list a machine recorded at a lazy mount's start
// (its REPO/hacktree/prefetch/COMMIT.list), copied into the server's archive repository with
// the pack of the objects it names (prefetch-pack.ts), so that another machine's lazy mount
// gets its start's objects in one request.
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Repo } from '../repo.js';
import { isChecksum, type Checksum } from '../checksum.js';
import { objectRelPath } from '../layout.js';
import { atomicWriteFileSync } from '../durable.js';
import { parsePrefetchList, prefetchListPath, serializePrefetchList } from '../prefetch-list.js';
import { buildPack, prefetchPackPath } from '../prefetch-pack.js';
import { HacktreeError, UsageError } from '../../errors.js';

export interface PublishedPrefetch { commit: Checksum; listed: number; packed: number; missing: number; packBytes: number }

/** The commit a list file is for: `commit` if given, else its name (COMMIT.list, as a mount records it). */
export function listCommit(listFile: string, commit?: string): Checksum {
  const c = commit ?? basename(listFile).replace(/\.list$/, '');
  if (!isChecksum(c)) throw new UsageError(`cannot tell which commit ${listFile} is for: name it COMMIT.list or give --commit`);
  return c;
}

export function publishPrefetch(repo: Repo, listFile: string, commit: Checksum): PublishedPrefetch {
  if (repo.mode !== 'archive') throw new UsageError(`${repo.path} is a ${repo.mode} repository: a prefetch pack is published from the archive repository a server serves`);
  if (!repo.hasObject(commit, 'commit')) throw new HacktreeError('NOT_FOUND', `${repo.path} has no commit ${commit}`);
  let text: string;
  try { text = fs.readFileSync(listFile, 'utf8'); } catch (e) { throw new UsageError(`cannot read ${listFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  const list = parsePrefetchList(text);
  const { pack, entries, missing } = buildPack((csum, ext) => join(repo.path, objectRelPath(csum, ext)), list);
  const listPath = prefetchListPath(repo.path, commit);
  fs.mkdirSync(dirname(listPath), { recursive: true });
  // The pack before the list: a client that finds the list asks for the pack with it.
  atomicWriteFileSync(prefetchPackPath(repo.path, commit), pack, repo.durable);
  atomicWriteFileSync(listPath, serializePrefetchList(list), repo.durable);
  return { commit, listed: list.length, packed: entries, missing, packBytes: pack.length };
}
