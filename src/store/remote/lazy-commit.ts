// The start of a lazy mount: a remote's branch becomes a local commit without its tree.
// The commit object (checked, and its signature when the remote requires one) and the
// remote-tracking ref are written, and the commit is marked partial as an interrupted
// pull leaves it (state/COMMIT.commitpartial): fsck expects its objects to be missing,
// prune keeps what of it is here, and a pull completes it. Everything below the commit
// is fetched by a LazyFetcher as reads need it.
import { commitPartialPath } from '../layout.js';
import fs from 'node:fs';
import { dirname } from 'node:path';
import type { Checksum } from '../checksum.js';
import { sha256Hex } from '../checksum.js';
import type { Repo } from '../repo.js';
import { parseCommit } from '../objects/commit.js';
import { readRef, writeRef } from '../refs.js';
import { atomicWriteFileSync } from '../durable.js';
import { CorruptObjectError, HacktreeError } from '../../errors.js';
import { verifyCommitSignature, writeDetached } from '../ops/sign.js';
import { getRemote, trustedKeys } from './remotes.js';
import { HttpSource } from './source.js';
import { LazyFetcher } from './lazy-fetcher.js';
import { Transaction } from '../transaction.js';
import { parsePrefetchList, prefetchListPath, serializePrefetchList, type PrefetchEntry } from '../prefetch-list.js';

/** Requests in flight for a lazy mount: a directory's entries are fetched together when it is listed. */
const LAZY_CONCURRENCY = 32;

/**
 * REMOTE:BRANCH as a local commit: the remote-tracking ref if it is here (a second mount
 * needs no network), else the remote's branch, fetched as above. Returns the commit.
 */
export async function lazyCommit(repo: Repo, remoteName: string, branch: string): Promise<Checksum> {
  const ref = { remote: remoteName, name: branch };
  const local = readRef(repo.path, ref);
  if (local && repo.hasObject(local, 'commit')) return local;
  const remote = getRemote(repo, remoteName);
  const src = new HttpSource(remoteName, remote.url);
  try {
    const commit = await src.ref(branch);
    if (!commit) throw new HacktreeError('NOT_FOUND', `remote '${remoteName}' has no branch '${branch}'`);
    const data = await src.meta('commit', commit);
    if (!data) throw new HacktreeError('BAD_SOURCE', `remote '${remoteName}' has no commit object ${commit}`);
    if (sha256Hex(data) !== commit) throw new CorruptObjectError(commit, 'commit', `remote '${remoteName}' sent bytes with checksum ${sha256Hex(data)}`);
    try { parseCommit(data); } catch (e) { throw new CorruptObjectError(commit, 'commit', (e as Error).message); }
    const detached = await src.detached(commit);
    if (remote.verify) verifyCommitSignature(commit, data, detached, trustedKeys(remote), remoteName);
    // Partial before the commit object lands: nothing ever sees it here and complete.
    atomicWriteFileSync(commitPartialPath(repo.path, commit), '', repo.durable);
    const tx = new Transaction(repo);
    try {
      tx.writeMeta('commit', data);
      tx.commit();
    } catch (e) {
      tx.abort();
      throw e;
    }
    if (detached) writeDetached(repo, commit, detached);
    writeRef(repo.path, ref, commit, repo.durable);
    return commit;
  } finally {
    src.close();
  }
}

/** The fetcher a mount of a partial commit reads missing objects through. */
export function lazyFetcher(repo: Repo, remoteName: string, timeoutMs: number, recordMs = 0): LazyFetcher {
  const remote = getRemote(repo, remoteName);
  // Reads wait on each object: more requests in flight than a pull's client, which has workers besides.
  return new LazyFetcher(repo, new HttpSource(remoteName, remote.url, LAZY_CONCURRENCY), { timeoutMs, recordMs });
}

/** How long a lazy mount's start lasts, for the prefetch list it records. */
const START_MS = 30_000;

/**
 * A lazy mount's fetcher, and its start: the commit's prefetch list (this repository's, else
 * the remote's) is fetched in the background; without one, the mount records one of what it
 * fetches in its first START_MS, which `saveRecorded` writes once that time is over (or the
 * mount stops).
 */
export function lazyStart(repo: Repo, remoteName: string, commit: Checksum, timeoutMs: number, log: (msg: string) => void): { fetcher: LazyFetcher; saveRecorded(stopping?: boolean): boolean } {
  const path = prefetchListPath(repo.path, commit);
  let local: PrefetchEntry[] | null = null;
  try { local = parsePrefetchList(fs.readFileSync(path, 'utf8')); } catch { local = null; }
  const fetcher = lazyFetcher(repo, remoteName, timeoutMs, local ? 0 : START_MS);
  const run = (list: PrefetchEntry[], from: string): void => {
    const t0 = Date.now();
    log(`prefetching ${list.length} objects (the prefetch list ${from})`);
    void fetcher.prefetch(list).then((n) => log(`prefetch list done: ${n} objects fetched in ${((Date.now() - t0) / 1000).toFixed(1)} s`));
  };
  if (local) run(local, `in ${path}`);
  else {
    void fetcher.publishedPrefetchList(commit).then((list) => {
      if (!list) return;
      fetcher.stopRecording();
      run(list, `remote '${remoteName}' publishes`);
    });
  }
  let saved = false;
  return {
    fetcher,
    saveRecorded: (stopping = false) => {
      const rec = saved ? null : fetcher.recorded(stopping);
      if (!rec || rec.length === 0) return false;
      saved = true;
      fs.mkdirSync(dirname(path), { recursive: true });
      atomicWriteFileSync(path, serializePrefetchList(rec), repo.durable);
      log(`recorded a prefetch list of ${rec.length} objects at ${path}`);
      return true;
    },
  };
}
