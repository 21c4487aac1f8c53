// root upgrade / rollback: the commit switch (upgrade.ts), the post-upgrade
// check inside the new root, and two locks: the root's own, so that nothing
// recovers an upgrade while it is still running, and the repository's writer
// lock while the root's commits change, which prune takes before it reads what
// roots need, so that it never deletes a commit a root is moving to.
import { join } from 'node:path';
import { HacktreeError } from '../errors.js';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { refNamed, resolveRev } from '../store/rev.js';
import { reachableFrom } from '../store/ops/reachable.js';
import type { DiffEntry } from '../store/ops/diff.js';
import { lookupPath } from '../store/tree-walk.js';
import { isReg } from '../store/objects/types.js';
import { RepoLock } from '../store/lock.js';
import type { Roots, RootRecord } from './roots.js';
import { commitPending, planUpgrade, recover, rollBackFailed, switchCommit, type UpgradeOutcome } from './upgrade.js';
import { findRootMount, holdRootMount, scratchMountpoint } from './root-mount.js';
import { enterRoot } from './enter.js';
import { earlierDeployments, keepOf } from './retention.js';

export const POST_UPGRADE = '/usr/lib/hacktree/post-upgrade';

export function lockRoot(roots: Roots, name: string, timeoutMs: number): RepoLock {
  return RepoLock.acquire(join(roots.rootDir(name), 'lock.db'), timeoutMs);
}

/** The root's record after finishing (rolling back) an upgrade a crash interrupted; skipped while one runs. */
export function loadRoot(roots: Roots, name: string): RootRecord {
  roots.get(name);
  let lock: RepoLock;
  try { lock = lockRoot(roots, name, 0); } catch { return roots.get(name); }
  try { return recover(roots, name); } finally { lock.release(); }
}

function refuseMounted(roots: Roots, name: string): void {
  roots.get(name);
  const m = findRootMount(roots.sysroot, name);
  if (m) throw new HacktreeError('MOUNT', `root '${name}' is mounted at ${m.mountpoint}: unmount it first (a running mount keeps serving its commit)`);
}

async function hasPostUpgrade(repo: Repo, commit: string): Promise<boolean> {
  try {
    const e = await lookupPath(repo, commit, POST_UPGRADE);
    if (e.kind !== 'file') return false;
    const { meta } = await repo.loadFileMeta(e.checksum);
    return isReg(meta.mode) && (meta.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export interface UpgradeOptions {
  check?: string;
  repoPath: string;
}

/** What `root upgrade NAME` with no REV moves to: the branch the root follows. */
export function followedBranch(rec: RootRecord): string {
  if (rec.branch) return rec.branch;
  throw new HacktreeError('NOT_FOUND', `root '${rec.name}' follows no branch (it was made from '${rec.rev}'${rec.rev.length === 64 ? ', a checksum' : ' before roots kept their branch'}): name the REV to upgrade to, and it follows that branch from then on`);
}

/** Runs `f` holding the repository's writer lock (see the top of this file). */
async function withRepoLock<T>(repo: Repo, f: () => Promise<T>): Promise<T> {
  const lock = repo.lock();
  try { return await f(); } finally { lock.release(); }
}

export async function upgradeRoot(repo: Repo, roots: Roots, name: string, rev: string | undefined, o: UpgradeOptions): Promise<UpgradeOutcome & { checked: boolean; rev: string }> {
  refuseMounted(roots, name);
  const lock = lockRoot(roots, name, 60_000);
  try {
    const { outcome, check, target } = await withRepoLock(repo, async () => {
      const rec = recover(roots, name);
      const target = rev ?? followedBranch(rec);
      const to = resolveRev(repo, target);
      if (rec.commit === to) throw new HacktreeError('UNCHANGED', `root '${name}' already runs ${to.slice(0, 12)}${rev === undefined ? ` (the head of ${target})` : ''}`);
      const check = o.check ? ['/bin/sh', '-c', o.check] : (await hasPostUpgrade(repo, to)) ? [POST_UPGRADE] : null;
      // Naming a branch makes the root follow it; a checksum or REV~N leaves what it follows as it was.
      const outcome = await switchCommit(repo, roots, name, to, target, 'upgrade', check !== null, refNamed(repo, target) ?? undefined);
      return { outcome, check, target };
    });
    // While the check runs, the record names both commits as pending: prune keeps them without our lock.
    if (!check) return { ...outcome, checked: false, rev: target };
    let result: { code: number; output: string };
    const held = await holdRootMount(roots, o.repoPath, name, scratchMountpoint(roots, name, 'check'));
    try {
      result = await enterRoot({ mountpoint: held.mountpoint, cmd: check, capture: true });
    } finally {
      await held.release();
    }
    if (result.code !== 0) {
      rollBackFailed(roots, name, `post-upgrade check exited ${result.code}`);
      const out = result.output.trim();
      throw new HacktreeError('CHECK_FAILED', `post-upgrade check failed (exit ${result.code}): root '${name}' is back on ${outcome.from.slice(0, 12)}${out ? `\n--- check output ---\n${out}` : ' (the check printed nothing)'}`);
    }
    commitPending(roots, name);
    return { ...outcome, checked: true, rev: target };
  } finally {
    lock.release();
  }
}

export interface UpgradePreview {
  name: string;
  from: Checksum;
  to: Checksum;
  rev: string;
  /** What the new commit changes. */
  changes: DiffEntry[];
  /** Objects the new commit needs that this repository lacks (a pull brings them). */
  missing: Array<{ checksum: Checksum; type: string; path: string }>;
  /** Layer files the upgrade would rewrite: account files merged by entry, files copied up unchanged. */
  merged: string[];
  added: string[];
  clashes: string[];
  conflicts: Array<{ path: string; reason: string }>;
  /** Whether the root is mounted (a real upgrade would ask to unmount it first). */
  mounted: string | null;
}

/** What `upgradeRoot` would do, changing nothing. */
export async function previewUpgrade(repo: Repo, roots: Roots, name: string, rev: string | undefined): Promise<UpgradePreview> {
  const rec = loadRoot(roots, name);
  const target = rev ?? followedBranch(rec);
  const to = resolveRev(repo, target);
  const missing = reachableFrom(repo, [to]).missing.map(({ checksum, type, path }) => ({ checksum, type, path }));
  // A tree with objects missing cannot be compared path by path: what is known is what is missing.
  const plan = missing.length === 0 && to !== rec.commit ? await planUpgrade(repo, roots, name, rec.commit, to) : { upstream: [], merges: [], conflicts: [] };
  return {
    name, from: rec.commit, to, rev: target, changes: plan.upstream, missing,
    merged: plan.merges.filter((m) => m.text !== null).map((m) => m.path),
    added: plan.merges.flatMap((m) => m.added),
    clashes: plan.merges.flatMap((m) => m.clashes),
    conflicts: plan.conflicts,
    mounted: findRootMount(roots.sysroot, name)?.mountpoint ?? null,
  };
}

/**
 * Back to the commit before the last upgrade or rollback, or to `rev`, any
 * commit the root ran before; the layer stays as it is.
 */
export async function rollbackRoot(repo: Repo, roots: Roots, name: string, rev?: string): Promise<UpgradeOutcome> {
  refuseMounted(roots, name);
  const lock = lockRoot(roots, name, 60_000);
  try {
    return await withRepoLock(repo, () => rollbackLocked(repo, roots, name, rev));
  } finally {
    lock.release();
  }
}

async function rollbackLocked(repo: Repo, roots: Roots, name: string, rev?: string): Promise<UpgradeOutcome> {
  const want = rev === undefined ? undefined : resolveRev(repo, rev);
  const rec = recover(roots, name);
  const earlier = earlierDeployments(rec);
  const to = want === undefined ? earlier[0] : earlier.find((d) => d.commit === want);
  if (!to) {
    if (want === rec.commit) throw new HacktreeError('UNCHANGED', `root '${name}' already runs ${want.slice(0, 12)}`);
    throw new HacktreeError('NOT_FOUND', want === undefined ? `root '${name}' has no previous commit to roll back to` : `root '${name}' never ran ${want.slice(0, 12)} (see \`hacktree root history ${name}\`)`);
  }
  if (!repo.hasObject(to.commit, 'commit')) {
    throw new HacktreeError('MISSING_OBJECT', `cannot roll root '${name}' back: its earlier commit ${to.commit.slice(0, 12)} is no longer in the repository (\`hacktree root config ${name} --keep\` is ${keepOf(rec)})`);
  }
  return await switchCommit(repo, roots, name, to.commit, to.rev, 'rollback');
}

/**
 * Makes a root running REV; a REV that is a branch as it is (no ~N) becomes the branch the
 * root follows. Under the repository's lock, so that prune cannot delete the commit before
 * the root's record names it.
 */
export function createRoot(repo: Repo, roots: Roots, name: string, rev: string, rules: string[]): RootRecord {
  roots.checkName(name);
  const lock = repo.lock();
  try {
    return roots.create(name, resolveRev(repo, rev), rev, rules, refNamed(repo, rev) ?? undefined);
  } finally {
    lock.release();
  }
}

/** Changes how many commits prune keeps for the root; under the root's lock, so no upgrade writes over it. */
export function configureRoot(roots: Roots, name: string, c: { keep: number }): RootRecord {
  roots.get(name);
  const lock = lockRoot(roots, name, 60_000);
  try {
    const rec = { ...recover(roots, name), keep: c.keep };
    roots.update(rec);
    return rec;
  } finally {
    lock.release();
  }
}
