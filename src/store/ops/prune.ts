// Delete what no kept commit needs, as `ostree prune` does.
import fs from 'node:fs';
import { join } from 'node:path';
import { isChecksum, type Checksum } from '../checksum.js';
import { HacktreeError } from '../../errors.js';
import type { Repo } from '../repo.js';
import { listRefs } from '../refs.js';
import { scanObjects } from './object-scan.js';
import { objKey, reachableFrom } from './reachable.js';
import { noProgress, type Progress } from './progress.js';
import { syncFileSystem } from '../durable.js';

/** A commit to keep for a reason the store does not know of (a root runs it, say). */
export interface KeepCommit { commit: Checksum; reason: string }

export interface PruneOptions {
  /** Keep only commits reachable from refs (otherwise every commit object is kept). */
  refsOnly?: boolean;
  /** Keep at most this many parents behind each ref (-1 or undefined: all). */
  depth?: number;
  /** Drop commits older than this (seconds since the epoch); ref heads are always kept. */
  keepYoungerThan?: number;
  /**
   * Commits kept whatever the options above say, with everything they reach. A function is
   * called once prune holds the writer lock: whoever changes what it lists (a root's upgrade)
   * takes that lock too, so the list cannot go stale before prune deletes.
   */
  keep?: KeepCommit[] | (() => KeepCommit[]);
  dryRun?: boolean;
  progress?: Progress;
}

export interface PruneResult {
  objectsDeleted: number;
  commitsDeleted: number;
  /** Of the object files deleted (or that a dry run would delete). */
  bytesFreed: number;
  total: number;
  dryRun: boolean;
  /** The commits of `keep` present in the repository, each once, with every reason given. */
  kept: Array<{ commit: Checksum; reasons: string[] }>;
}

export function prune(repo: Repo, opts: PruneOptions): PruneResult {
  const lock = repo.lock();
  try {
    const objects = scanObjects(repo);
    const allCommits = objects.filter((o) => o.type === 'commit').map((o) => o.checksum);
    const selective = opts.refsOnly || (opts.depth !== undefined && opts.depth >= 0) || opts.keepYoungerThan !== undefined;
    const extra = groupKeeps(repo, typeof opts.keep === 'function' ? opts.keep() : opts.keep ?? []);
    const kept = [...(selective ? keptFromRefs(repo, opts) : allCommits), ...extra.map((k) => k.commit)];
    const reach = reachableFrom(repo, kept);
    // What lies below an unreadable tree is unknown, and so not safe to delete.
    const bad = reach.corrupt[0];
    if (bad) throw new HacktreeError('CORRUPT_OBJECT', `prune deleted nothing: ${bad.message} (see hacktree fsck)`);
    const progress = opts.progress ?? noProgress;
    const result: PruneResult = { objectsDeleted: 0, commitsDeleted: 0, bytesFreed: 0, total: objects.length, dryRun: !!opts.dryRun, kept: extra };
    const deletedContent: Checksum[] = [];
    const deletedTrees: Checksum[] = [];
    const deletedCommits: Checksum[] = [];
    objects.forEach((o, i) => {
      if (reach.present.has(objKey(o.type, o.checksum))) return;
      // A commit's detached metadata goes with it.
      if (o.type === 'commitmeta' && reach.present.has(objKey('commit', o.checksum))) return;
      result.bytesFreed += fs.lstatSync(o.path).size;
      result.objectsDeleted++;
      if (o.type === 'commit') { result.commitsDeleted++; deletedCommits.push(o.checksum); }
      if (o.type === 'file') deletedContent.push(o.checksum);
      if (o.type === 'dirtree') deletedTrees.push(o.checksum);
      if (!opts.dryRun) fs.unlinkSync(o.path);
      if (i % 256 === 0) progress.update(i, objects.length);
    });
    if (!opts.dryRun) {
      const index = repo.index;
      index.batch(() => {
        for (const c of deletedContent) index.remove(c);
        for (const t of deletedTrees) { index.removeTreeStats(t); index.removeLinkCounts(t); index.removeTreeSize(t); }
        for (const c of deletedCommits) index.removeCommitNew(c);
      });
      removeStaleStaging(repo);
      if (repo.durable && result.objectsDeleted > 0) syncFileSystem(join(repo.path, 'objects'));
    }
    progress.finish();
    return result;
  } finally {
    lock.release();
  }
}

function groupKeeps(repo: Repo, keep: KeepCommit[]): PruneResult['kept'] {
  const by = new Map<Checksum, string[]>();
  for (const k of keep) {
    // Refusing beats skipping: a commit named wrongly here is one prune could not protect.
    if (!isChecksum(k.commit)) throw new HacktreeError('BAD_REPO', `cannot keep '${k.commit}' (${k.reason}): not a commit checksum`);
    if (repo.hasObject(k.commit, 'commit')) by.set(k.commit, [...(by.get(k.commit) ?? []), k.reason]);
  }
  return [...by].map(([commit, reasons]) => ({ commit, reasons }));
}

function keptFromRefs(repo: Repo, opts: PruneOptions): Checksum[] {
  const kept = new Set<Checksum>();
  const maxDepth = opts.depth === undefined || opts.depth < 0 ? Infinity : opts.depth;
  for (const { checksum } of listRefs(repo.path)) {
    let cur: Checksum | null = checksum;
    for (let depth = 0; cur && depth <= maxDepth && repo.hasObject(cur, 'commit'); depth++) {
      const c = repo.loadCommitSync(cur);
      if (depth > 0 && opts.keepYoungerThan !== undefined && c.timestamp < opts.keepYoungerThan) break;
      kept.add(cur);
      cur = c.parent;
    }
  }
  return [...kept];
}

/** Staging directories of transactions that died; safe to remove while we hold the writer lock. */
function removeStaleStaging(repo: Repo): void {
  const tmp = join(repo.path, 'tmp');
  for (const name of fs.readdirSync(tmp)) {
    if (name.startsWith('staging-')) fs.rmSync(join(tmp, name), { recursive: true, force: true });
  }
}
