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
import { FetchAhead } from '../fetch-ahead.js';
import { parsePrefetchList, prefetchListPath, serializePrefetchList, type PrefetchEntry } from '../prefetch-list.js';
import { parsePack, prefetchPackPath } from '../prefetch-pack.js';

/**
 * Requests in flight for a lazy mount: a directory's entries are fetched together when it is
 * listed, and fetch-ahead (fetch-ahead.ts) keeps 32 of them busy. Group `http` of the
 * benchmarks: 3,000 small objects over a 20 ms round trip took 2.4 s at 128 in flight, 3.4 s at 32.
 */
const LAZY_CONCURRENCY = 128;

/**
 * REMOTE:BRANCH as a local commit: the remote-tracking ref if it is here (a second mount
 * needs no network), else the remote's branch, fetched as above, with its root dirtree and
 * dirmeta (what the mount needs first). Returns the commit.
 *
 * Round trips are what a lazy mount's start costs: the ref, then the commit with its detached
 * metadata and the prefetch list and pack the remote publishes for it (asked for at once: most
 * commits have none, and a 404 costs the same round trip), and the root's dirtree and dirmeta as
 * soon as the commit names them, while the others may still be on their way. A published list
 * and pack are kept as this repository's (prefetchListPath, prefetchPackPath), so that they are
 * here when the mount starts; the pack as it came (the daemon verifies every object in it).
 */
export async function lazyCommit(repo: Repo, remoteName: string, branch: string): Promise<Checksum> {
  const ref = { remote: remoteName, name: branch };
  const local = readRef(repo.path, ref);
  if (local && repo.hasObject(local, 'commit')) return local;
  const remote = getRemote(repo, remoteName);
  const src = new HttpSource(remoteName, remote.url);
  const label = `remote '${remoteName}'`;
  try {
    const commit = await src.ref(branch);
    if (!commit) throw new HacktreeError('NOT_FOUND', `remote '${remoteName}' has no branch '${branch}'`);
    const detachedP = src.detached(commit);
    detachedP.catch(() => {}); // awaited below; a failure of the commit's fetch comes first
    // A hint: one that cannot be fetched or read is no list.
    const listP = readRemoteList(src, repo, commit);
    const packP = readRemotePack(src, repo, commit);
    const data = await src.meta('commit', commit);
    if (!data) throw new HacktreeError('BAD_SOURCE', `remote '${remoteName}' has no commit object ${commit}`);
    if (sha256Hex(data) !== commit) throw new CorruptObjectError(commit, 'commit', `remote '${remoteName}' sent bytes with checksum ${sha256Hex(data)}`);
    let parsed;
    try { parsed = parseCommit(data); } catch (e) { throw new CorruptObjectError(commit, 'commit', (e as Error).message); }
    // The root is only a head start for the mount: one that cannot be fetched now is fetched by it.
    const rootP = Promise.all([verifiedMeta(src, 'dirtree', parsed.rootTree, label), verifiedMeta(src, 'dirmeta', parsed.rootMeta, label)]).catch(() => [null, null]);
    const detached = await detachedP;
    if (remote.verify) verifyCommitSignature(commit, data, detached, trustedKeys(remote), remoteName);
    const root = await rootP;
    // Partial before the commit object lands: nothing ever sees it here and complete.
    atomicWriteFileSync(commitPartialPath(repo.path, commit), '', repo.durable);
    const tx = new Transaction(repo);
    try {
      tx.writeMeta('commit', data);
      for (const [type, got] of [['dirtree', root[0]], ['dirmeta', root[1]]] as const) if (got) tx.writeMeta(type, got);
      tx.commit();
    } catch (e) {
      tx.abort();
      throw e;
    }
    if (detached) writeDetached(repo, commit, detached);
    writeRef(repo.path, ref, commit, repo.durable);
    const [list, pack] = await Promise.all([listP, packP]);
    if (list) {
      const path = prefetchListPath(repo.path, commit);
      fs.mkdirSync(dirname(path), { recursive: true });
      // The pack first: a list without its pack is a list, a pack without its list is never read.
      if (pack) atomicWriteFileSync(prefetchPackPath(repo.path, commit), pack, false);
      atomicWriteFileSync(path, serializePrefetchList(list), false);
    }
    return commit;
  } finally {
    src.close();
  }
}

/** The prefetch list the remote publishes for `commit`, unless this repository has one; null when there is none to keep. */
async function readRemoteList(src: HttpSource, repo: Repo, commit: Checksum): Promise<PrefetchEntry[] | null> {
  if (fs.existsSync(prefetchListPath(repo.path, commit))) return null;
  try {
    const got = await src.prefetchList(commit);
    return got ? parsePrefetchList(got.toString('utf8')) : null;
  } catch {
    return null;
  }
}

/** The prefetch pack the remote publishes for `commit` as it came, unless this repository has a list; null when there is none. */
async function readRemotePack(src: HttpSource, repo: Repo, commit: Checksum): Promise<Buffer | null> {
  if (fs.existsSync(prefetchListPath(repo.path, commit))) return null;
  return src.prefetchPack(commit).catch(() => null);
}

/** This repository's prefetch pack of `commit`, parsed; null when there is none or it is malformed (it is only a hint). */
function localPack(repo: Repo, commit: Checksum): ReturnType<typeof parsePack> | null {
  try { return parsePack(fs.readFileSync(prefetchPackPath(repo.path, commit))); } catch { return null; }
}

/** A metadata object from the remote, checked against its checksum; null when the remote lacks it. */
async function verifiedMeta(src: HttpSource, type: 'dirtree' | 'dirmeta', csum: Checksum, label: string): Promise<Buffer | null> {
  const data = await src.meta(type, csum);
  if (data && sha256Hex(data) !== csum) throw new CorruptObjectError(csum, type, `${label} sent bytes with checksum ${sha256Hex(data)}`);
  return data;
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
 * A lazy mount's fetcher, and its start: the commit's directories are fetched ahead (see
 * fetch-ahead.ts), and its prefetch list (this repository's, else the remote's) before them;
 * without one, the mount records one of what it fetches in its first START_MS, which
 * `saveRecorded` writes once that time is over (or the mount stops). The caller sets the
 * fetcher as the repository's before anything is fetched (on the next turn of the event loop).
 */
export function lazyStart(repo: Repo, remoteName: string, commit: Checksum, timeoutMs: number, log: (msg: string) => void): { fetcher: LazyFetcher; ahead: FetchAhead; started(): void; saveRecorded(stopping?: boolean): boolean } {
  const path = prefetchListPath(repo.path, commit);
  let local: PrefetchEntry[] | null = null;
  try { local = parsePrefetchList(fs.readFileSync(path, 'utf8')); } catch { local = null; }
  const fetcher = lazyFetcher(repo, remoteName, timeoutMs, local ? 0 : START_MS);
  const ahead = new FetchAhead(repo);
  // The commit's directories, once the list (which names those the start needs) is done: the
  // list has every connection but a read's to itself until then.
  let walked = false;
  const directories = (): void => {
    if (walked) return;
    walked = true;
    try { ahead.metadata(repo.loadCommitSync(commit).rootTree); } catch (e) { log(`no fetch-ahead of directories: ${(e as Error).message}`); }
  };
  const run = (list: PrefetchEntry[], from: string): void => {
    const t0 = Date.now();
    log(`prefetching ${list.length} objects (the prefetch list ${from})`);
    void ahead.list(list).then((n) => {
      log(`prefetch list done: ${n} objects fetched in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      directories();
    });
  };
  // With a pack, its objects are mostly stored by the command that started this mount
  // (fetchListWhileStarting) while this process started. Once the mount is up (a start's
  // first request comes after that), its headers go into memory before any request is
  // answered, then what the command left is stored, and the list fetches whatever is still missing.
  let afterStart = (): void => {};
  if (local && fs.existsSync(prefetchPackPath(repo.path, commit))) {
    afterStart = () => {
      const t0 = Date.now();
      const pack = localPack(repo, commit);
      if (!pack) { run(local, `in ${path}`); return; }
      void fetcher.ingestPack(pack.filter((e) => e.kind === 'h'))
        .then(() => fetcher.ingestPack(pack.filter((e) => e.kind !== 'h')))
        .then((n) => {
          log(`prefetch pack taken in: ${n.stored} objects stored here (of ${pack.length}), ${n.dropped} dropped, in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
          run(local.filter((e) => e.kind !== 'h' || !fetcher.hasHeader(e.checksum)), `in ${path}`);
        });
    };
  } else if (local) run(local, `in ${path}`);
  else {
    // The set-up that follows runs before this: the fetcher is the repository's by then.
    queueMicrotask(directories);
    void fetcher.publishedPrefetchList(commit).then((list) => {
      if (!list) return;
      fetcher.stopRecording();
      run(list, `remote '${remoteName}' publishes`);
    });
  }
  let saved = false;
  return {
    fetcher,
    ahead,
    started: () => afterStart(),
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

/**
 * What the command that starts a lazy mount does while it waits for the daemon (two node
 * processes, 0.2–0.7 s): fetch the objects of the commit's prefetch list that land in the
 * repository (dirtrees, dirmetas, whole files), where the daemon's own fetch-ahead finds them;
 * with the commit's prefetch pack here, take its objects in instead, on this process's core
 * while the daemon starts on the other. The headers of large files are left to the daemon,
 * which keeps them in memory. `stop` ends it once the mount is up: the pack is finished (the
 * start needs its objects next), requests on the wire are dropped (the daemon asks again for
 * what it lacks) and what has arrived is moved in, without waiting for the disk (as the
 * daemon's fetched objects: a torn one fails its check and is fetched again). Null without a list.
 */
export function fetchListWhileStarting(repo: Repo, remoteName: string, commit: Checksum, timeoutMs: number): { stop(): Promise<void> } | null {
  let list: PrefetchEntry[];
  try { list = parsePrefetchList(fs.readFileSync(prefetchListPath(repo.path, commit), 'utf8')).filter((e) => e.kind !== 'h'); } catch { return null; }
  if (list.length === 0) return null;
  repo.durable = false;
  const fetcher = lazyFetcher(repo, remoteName, timeoutMs);
  repo.fetcher = fetcher;
  // A pack is taken in whole (no request); its headers are the daemon's to keep.
  const pack = localPack(repo, commit);
  const ahead = pack ? null : new FetchAhead(repo);
  const ingesting = pack ? fetcher.ingestPack(pack.filter((e) => e.kind !== 'h')) : null;
  void ahead?.list(list);
  return {
    stop: async () => {
      await ingesting;
      ahead?.close();
      await fetcher.close();
      repo.fetcher = null;
    },
  };
}
