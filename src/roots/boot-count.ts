// Boot counting, as systemd-boot's tries-left and greenboot do it: a commit an
// upgrade moved the root to is on trial until a boot of it is confirmed (the
// booted system runs `root booted`). The boot helper runs `root booting` before
// it mounts the root: an upgrade staged while the root was booted (lifecycle.ts)
// is carried out first, so its commit is on trial from this boot; then a trial
// commit gets BOOT_TRIES boots; a boot after those,
// or a commit without the init to run, moves the root back to
// the commit it ran before, with why in its history. Init is looked for in the
// commit before the root is mounted, so that a commit without one falls back in
// the same boot instead of stopping the machine. The count lives in
// root.json and every change of it is one atomic replacement of that file, as
// every other root change is.
import { posix } from 'node:path';
import { HacktreeError } from '../errors.js';
import type { Checksum } from '../store/checksum.js';
import type { Repo } from '../store/repo.js';
import { lookupPath, splitPath } from '../store/tree-walk.js';
import { isLnk, isReg } from '../store/objects/types.js';
import { recover, switchCommit } from './upgrade.js';
import { earlierDeployments } from './retention.js';
import { lockRoot } from './lifecycle.js';
import type { RootRecord, Roots } from './roots.js';

/** How many boots a commit on trial gets before the next boot falls back. */
export const BOOT_TRIES = 1;

export interface BootDecision {
  /** The commit this boot runs. */
  commit: Checksum;
  /** Set when this boot fell back: the commit that failed, and why. */
  fellBack?: { from: Checksum; why: string };
  /** Boots of `commit` so far, this one included, while it is on trial; absent once confirmed. */
  tries?: number;
  /** The upgrade staged for this boot, carried out (or not: `failed` says why). */
  staged?: { from: Checksum; to: Checksum; failed?: string };
}

const onTrial = (rec: RootRecord): boolean => rec.trial !== undefined && rec.trial.commit === rec.commit;

/** Moves the root back to the commit it ran before its trial commit; the layer stays, as `root rollback` keeps it. */
function fallBack(repo: Repo, roots: Roots, rec: RootRecord, why: string): BootDecision {
  const [to, before] = earlierDeployments(rec);
  if (!to) throw new HacktreeError('NOT_FOUND', `root '${rec.name}': ${why}, and it has no earlier commit to fall back to`);
  if (!repo.hasObject(to.commit, 'commit')) throw new HacktreeError('MISSING_OBJECT', `root '${rec.name}': ${why}, and its earlier commit ${to.commit.slice(0, 12)} is no longer in the repository`);
  const { trial: _t, ...rest } = rec;
  roots.update({
    ...rest,
    commit: to.commit,
    rev: to.rev,
    previous: before?.commit,
    previousRev: before?.rev,
    conflicts: [],
    history: [...(rec.history ?? []), { commit: to.commit, rev: to.rev, at: new Date().toISOString(), action: 'automatic rollback', note: why }],
  });
  return { commit: to.commit, fellBack: { from: rec.commit, why } };
}

/** Whether `path` is an executable file in the commit, following symlinks as the kernel would (at most 40). */
export async function hasExecutable(repo: Repo, commit: Checksum, path: string): Promise<boolean> {
  let todo = splitPath(path), done: string[] = [];
  for (let hops = 0; todo.length > 0;) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') { done.pop(); continue; }
    let e;
    try { e = await lookupPath(repo, commit, '/' + [...done, part].join('/')); } catch { return false; }
    if (e.kind === 'dir') { if (todo.length === 0) return false; done.push(part); continue; }
    const { meta } = await repo.loadFileMeta(e.checksum);
    if (isLnk(meta.mode)) {
      if (++hops > 40) return false;
      const target = meta.symlinkTarget;
      todo = [...splitPath(target), ...todo];
      if (posix.isAbsolute(target)) done = [];
      continue;
    }
    return todo.length === 0 && isReg(meta.mode) && (meta.mode & 0o111) !== 0;
  }
  return false;
}

/**
 * One boot of the root begins; `init` is what the boot helper will run. A commit on trial
 * is given up, for the one before, once its tries are spent or when it has no such init.
 */
export async function startBoot(repo: Repo, roots: Roots, name: string, init: string): Promise<BootDecision> {
  roots.get(name);
  const lock = lockRoot(roots, name, 60_000);
  const repoLock = repo.lock();
  try {
    const staged = await applyStagedForBoot(repo, roots, name);
    const withStaged = <T extends BootDecision>(d: T): T => (staged ? { ...d, staged } : d);
    const rec = recover(roots, name);
    const short = rec.commit.slice(0, 12);
    const hasInit = await hasExecutable(repo, rec.commit, init);
    if (!onTrial(rec)) {
      if (!hasInit) throw new HacktreeError('CHECK_FAILED', `root '${name}' cannot boot ${short}: it has no executable ${init} (and it is not on trial: no automatic fallback)`);
      return withStaged({ commit: rec.commit });
    }
    if (!hasInit) return withStaged(fallBack(repo, roots, rec, `boot of ${short} failed: no executable ${init}`));
    const tries = rec.trial!.tries;
    if (tries >= BOOT_TRIES) return withStaged(fallBack(repo, roots, rec, `boot of ${short} not confirmed after ${tries} ${tries === 1 ? 'try' : 'tries'}`));
    roots.update({ ...rec, trial: { commit: rec.commit, tries: tries + 1 } });
    return withStaged({ commit: rec.commit, tries: tries + 1 });
  } finally {
    repoLock.release();
    lock.release();
  }
}

/**
 * Carries out the upgrade staged for this boot (the caller holds the root's lock and the
 * repository's): the switch `root upgrade` would have made, merges into the layer included,
 * which no daemon holds yet. Its commit goes on trial; the boot is its check (a post-upgrade
 * check does not run here). One that cannot be carried out is dropped, and the boot goes on
 * with the commit the root runs: a boot must not stop on it.
 */
async function applyStagedForBoot(repo: Repo, roots: Roots, name: string): Promise<BootDecision['staged'] | undefined> {
  const rec = recover(roots, name);
  const s = rec.staged;
  if (!s) return undefined;
  const drop = (failed: string): BootDecision['staged'] => {
    const { staged: _s, ...rest } = roots.get(name);
    roots.update(rest);
    return { from: rec.commit, to: s.commit, failed };
  };
  if (s.commit === rec.commit) return drop('the root runs it already');
  if (!repo.hasObject(s.commit, 'commit')) return drop(`commit ${s.commit.slice(0, 12)} is not in the repository`);
  try {
    await switchCommit(repo, roots, name, s.commit, s.rev, 'upgrade', false, s.branch);
  } catch (e) {
    return drop((e as Error).message);
  }
  return { from: rec.commit, to: s.commit };
}

/** The booted system came up: its commit is no longer on trial. Returns whether it was. */
export function confirmBoot(roots: Roots, name: string): boolean {
  roots.get(name);
  const lock = lockRoot(roots, name, 60_000);
  try {
    const rec = recover(roots, name);
    if (rec.trial === undefined) return false;
    const was = onTrial(rec);
    const { trial: _t, ...rest } = rec;
    roots.update(rest);
    return was;
  } finally {
    lock.release();
  }
}
