// root upgrade / rollback: the commit switch (upgrade.ts), the post-upgrade
// check inside the new root, and the root's own lock so that nothing recovers
// an upgrade while it is still running.
import { join } from 'node:path';
import { HacktreeError } from '../errors.js';
import type { Repo } from '../store/repo.js';
import { resolveRev } from '../store/rev.js';
import { lookupPath } from '../store/tree-walk.js';
import { isReg } from '../store/objects/types.js';
import { RepoLock } from '../store/lock.js';
import { findRootMount } from '../mount.js';
import type { Roots, RootRecord } from './roots.js';
import { commitPending, recover, rollBackFailed, switchCommit, type UpgradeOutcome } from './upgrade.js';
import { holdRootMount, scratchMountpoint } from './root-mount.js';
import { enterRoot } from './enter.js';
import { earlierDeployments, keepOf } from './retention.js';

export const POST_UPGRADE = '/usr/lib/hacktree/post-upgrade';

function lockRoot(roots: Roots, name: string, timeoutMs: number): RepoLock {
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
  /** How to start a mount daemon: [bin path]. */
  daemonArgv: string[];
}

export async function upgradeRoot(repo: Repo, roots: Roots, name: string, rev: string, o: UpgradeOptions): Promise<UpgradeOutcome & { checked: boolean }> {
  refuseMounted(roots, name);
  const to = resolveRev(repo, rev);
  const lock = lockRoot(roots, name, 60_000);
  try {
    const rec = recover(roots, name);
    if (rec.commit === to) throw new HacktreeError('UNCHANGED', `root '${name}' already runs ${to.slice(0, 12)}`);
    const check = o.check ? ['/bin/sh', '-c', o.check] : (await hasPostUpgrade(repo, to)) ? [POST_UPGRADE] : null;
    const outcome = await switchCommit(repo, roots, name, to, rev, 'upgrade', check !== null);
    if (!check) return { ...outcome, checked: false };
    let result: { code: number; output: string };
    const held = await holdRootMount(roots, o.repoPath, name, o.daemonArgv, scratchMountpoint(roots, name, 'check'));
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
    return { ...outcome, checked: true };
  } finally {
    lock.release();
  }
}

/**
 * Back to the commit before the last upgrade or rollback, or to `rev`, any
 * commit the root ran before; the layer stays as it is.
 */
export async function rollbackRoot(repo: Repo, roots: Roots, name: string, rev?: string): Promise<UpgradeOutcome> {
  refuseMounted(roots, name);
  const want = rev === undefined ? undefined : resolveRev(repo, rev);
  const lock = lockRoot(roots, name, 60_000);
  try {
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
