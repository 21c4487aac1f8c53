// root upgrade / rollback: the commit switch (upgrade.ts), the post-upgrade
// check inside the new root, and two locks: the root's own, so that nothing
// recovers an upgrade while it is still running, and the repository's writer
// lock while the root's commits change, which prune takes before it reads what
// roots need, so that it never deletes a commit a root is moving to.
//
// An upgrade of a mounted root (the booted system's / included) is staged, as
// OSTree stages a deployment: the record names the commit, the running mount
// keeps serving the old one, and the switch (with its merges into the layer,
// which is then in no daemon's hands) happens when the root is next booted
// (boot-count.ts startBoot) or mounted (applyStaged).
import { join } from 'node:path';
import { HacktreeError, UsageError } from '../errors.js';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { refNamed, resolveRev } from '../store/rev.js';
import { reachableFrom } from '../store/ops/reachable.js';
import type { DiffEntry } from '../store/ops/diff.js';
import { lookupPath } from '../store/tree-walk.js';
import { isReg } from '../store/objects/types.js';
import { RepoLock } from '../store/lock.js';
import type { Roots, RootRecord, StagedUpgrade } from './roots.js';
import { commitPending, planUpgrade, recover, rollBackFailed, switchCommit, type UpgradeOutcome } from './upgrade.js';
import { findRootMount, holdRootMount, scratchMountpoint, type RootMountFound } from './root-mount.js';
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
  if (m?.booted) throw new HacktreeError('MOUNT', `root '${name}' is the booted system's / (a running mount keeps serving its commit): a rollback is not staged for the next boot; \`root upgrade ${name} REV\` to the earlier commit is`);
  if (m) throw new HacktreeError('MOUNT', `root '${name}' is mounted at ${m.mountpoint}: unmount it first (a running mount keeps serving its commit)`);
}

/** Where a root is in use, for messages. */
export const describeMount = (m: RootMountFound): string => (m.booted ? `the booted system's / (${m.mountpoint})` : `mounted at ${m.mountpoint}`);

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

export interface UpgradeResult extends UpgradeOutcome {
  checked: boolean;
  rev: string;
  /** The root was in use: the upgrade is staged for its next boot or mount (`from` still runs). */
  staged?: { mount: string; booted: boolean };
  /** Upgrading to the commit it runs dropped the upgrade staged before: to what it was staged for. */
  unstaged?: Checksum;
}

/** A commit to move to, the REV it was named by, and the branch followed from then on (undefined: as before). */
interface Target { to: Checksum; rev: string; branch?: string; /** Said when it is the commit the root runs. */ why: string }

/** What `root upgrade NAME [REV]` moves to: REV, or the head of the branch the root follows. */
function targetOf(repo: Repo, rec: RootRecord, rev: string | undefined): Target {
  const target = rev ?? followedBranch(rec);
  const to = resolveRev(repo, target);
  // Naming a branch makes the root follow it; a checksum or REV~N leaves what it follows as it was.
  return { to, rev: target, branch: refNamed(repo, target) ?? undefined, why: `root '${rec.name}' already runs ${to.slice(0, 12)}${rev === undefined ? ` (the head of ${target})` : ''}` };
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

/**
 * Moves the root to REV (default: the head of the branch it follows) now, with the post-upgrade
 * check; a root in use gets the upgrade staged instead (see the top of this file).
 */
export async function upgradeRoot(repo: Repo, roots: Roots, name: string, rev: string | undefined, o: UpgradeOptions): Promise<UpgradeResult> {
  roots.get(name);
  const m = findRootMount(roots.sysroot, name);
  if (m) return stageUpgrade(repo, roots, name, rev, o, m);
  return (await upgradeTo(repo, roots, name, (rec) => targetOf(repo, rec, rev), o))!;
}

/** Records the upgrade for the next boot or mount of a root `m` serves; upgrading to the commit it runs drops a staged one. */
async function stageUpgrade(repo: Repo, roots: Roots, name: string, rev: string | undefined, o: UpgradeOptions, m: RootMountFound): Promise<UpgradeResult> {
  if (o.check) throw new UsageError(`root '${name}' is ${describeMount(m)}: its upgrade is staged for the next boot or mount, where --check cannot run (the boot is a staged upgrade's check: boot counting falls back from a commit whose boot is not confirmed)`);
  const lock = lockRoot(roots, name, 60_000);
  try {
    return await withRepoLock(repo, async () => {
      const rec = recover(roots, name);
      const t = targetOf(repo, rec, rev);
      const none = { from: rec.commit, to: t.to, merged: [], added: [], conflicts: [], clashes: [], checked: false, rev: t.rev };
      if (rec.commit === t.to) {
        if (!rec.staged) throw new HacktreeError('UNCHANGED', t.why);
        const { staged, ...rest } = rec;
        roots.update(rest);
        return { ...none, unstaged: staged.commit };
      }
      if (rec.staged?.commit === t.to && rec.staged.branch === t.branch) throw new HacktreeError('UNCHANGED', `root '${name}' has ${t.to.slice(0, 12)} staged already (since ${rec.staged.at})`);
      const staged: StagedUpgrade = { commit: t.to, rev: t.rev, ...(t.branch !== undefined ? { branch: t.branch } : {}), at: new Date().toISOString() };
      roots.update({ ...rec, staged });
      return { ...none, staged: { mount: m.mountpoint, booted: m.booted === true } };
    });
  } finally {
    lock.release();
  }
}

/**
 * Carries out the upgrade staged while the root was in use, now that it is not: `root mount`
 * and `enter` run this before they mount it, with the post-upgrade check as `root upgrade`
 * runs it. Null when nothing is staged (or the root is mounted: it stays staged).
 */
export async function applyStaged(repo: Repo, roots: Roots, name: string, repoPath: string): Promise<UpgradeResult | null> {
  if (!loadRoot(roots, name).staged || findRootMount(roots.sysroot, name)) return null;
  return upgradeTo(repo, roots, name, (rec) => stagedTarget(roots, rec), { repoPath });
}

/** The staged upgrade as a target; one to the commit the root runs (moved there meanwhile) is dropped. */
export function stagedTarget(roots: Roots, rec: RootRecord): Target | null {
  const s = rec.staged;
  if (!s) return null;
  if (s.commit !== rec.commit) return { to: s.commit, rev: s.rev, branch: s.branch, why: '' };
  const { staged: _s, ...rest } = rec;
  roots.update(rest);
  return null;
}

/** The upgrade to what `pick` names (null: nothing to do), with its post-upgrade check. */
async function upgradeTo(repo: Repo, roots: Roots, name: string, pick: (rec: RootRecord) => Target | null, o: UpgradeOptions): Promise<UpgradeResult | null> {
  const lock = lockRoot(roots, name, 60_000);
  try {
    const moved = await withRepoLock(repo, async () => {
      const rec = recover(roots, name);
      const t = pick(rec);
      if (!t) return null;
      if (rec.commit === t.to) throw new HacktreeError('UNCHANGED', t.why);
      const check = o.check ? ['/bin/sh', '-c', o.check] : (await hasPostUpgrade(repo, t.to)) ? [POST_UPGRADE] : null;
      const outcome = await switchCommit(repo, roots, name, t.to, t.rev, 'upgrade', check !== null, t.branch);
      return { outcome, check, target: t.rev };
    });
    if (!moved) return null;
    const { outcome, check, target } = moved;
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
  /** Where the root is in use (a real upgrade would be staged for its next boot or mount). */
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
    mounted: ((m) => (m ? describeMount(m) : null))(findRootMount(roots.sysroot, name)),
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
