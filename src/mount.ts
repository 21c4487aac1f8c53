// Mounting commits, read-only or with a writable layer: checks, the background
// daemon, unmounting, listing. Roots mount through here; this file knows nothing
// of them (a layer's owner is a label it records).
//
// The caller resolves REV to a checksum; `hacktree mount` checks everything it can
// (repo, commit, mountpoint), then starts the daemon (daemon-main.ts, serving as
// mount-daemon.ts says) detached, given that checksum (daemonArgv), and returns once
// the daemon reports the mount ready on a pipe. The daemon serves the mount from its
// own event loop and never touches the mount itself.
import fs from 'node:fs';
import { resolve } from 'node:path';
import { HacktreeError, UsageError } from './errors.js';
import { Repo, type RepoOptions } from './store/repo.js';
import { resolveRev } from './store/rev.js';
import type { Checksum } from './store/checksum.js';
import { HACKTREE_FSTYPE, kernelPath, readMountsSync } from './fuse/mountinfo.js';
import { atomicWriteFileSync } from './store/durable.js';
import { isAlive, logPath, readState, readSupervisor, reloadPath, statePath, supervisorPath, type DaemonDeath, type MountState } from './mount-state.js';
import { fusermountU, startDaemon, startSupervised, type MountRequest } from './mount-process.js';

export { logPath, reloadPath, runDir, statePath, type MountState } from './mount-state.js';
export { answerLine, daemonArgv, fusermountU, mountCommandRequest, type DaemonAnswer, type DaemonOptions, type MountRequest } from './mount-process.js';

export interface MountOptionsParsed {
  verify: boolean;
  /** Options handed to libfuse as they are. */
  extra: string[];
  nonempty: boolean;
  /**
   * The mount becomes a booted system's `/` (the boot helper moves it there, out of the
   * daemon's sight): the daemon does not watch the mount table for its unmount, ignores the
   * signals that would stop it, and names itself `@…` so systemd's shutdown leaves it running
   * (systemd.io/ROOT_STORAGE_DAEMONS).
   */
  boot: boolean;
}

/**
 * Options mount(8) and fstab pass that mean nothing to the FUSE file system itself, and
 * libfuse 2 options that libfuse 3 no longer takes because it always does what they asked
 * (big_writes, large_read): libfuse 3 would refuse them.
 */
const IGNORED = new Set(['defaults', 'auto', 'noauto', 'nofail', '_netdev', 'user', 'users', 'owner', 'nouser', 'rw', 'ro', 'exec', 'noexec', 'suid', 'dev', 'async', 'sync', 'relatime', 'noatime', 'atime', 'big_writes', 'large_read']);

export function parseMountOptions(list: string[]): MountOptionsParsed {
  const out: MountOptionsParsed = { verify: true, extra: [], nonempty: false, boot: false };
  for (const opt of list.flatMap((o) => o.split(',')).filter(Boolean)) {
    const [k, v] = opt.split('=', 2) as [string, string | undefined];
    if (k === 'verify') {
      if (v === 'none') out.verify = false;
      else if (v === 'all' || v === undefined) out.verify = true;
      else throw new UsageError(`-o verify takes 'all' or 'none', not '${v}'`);
    } else if (k === 'nonempty') out.nonempty = true;
    else if (k === 'boot') out.boot = true;
    else if (IGNORED.has(k) || k.startsWith('x-') || k === 'comment') continue;
    else out.extra.push(opt);
  }
  return out;
}

function checkMountpoint(mnt: string, nonempty: boolean): void {
  let st: fs.Stats;
  try { st = fs.statSync(mnt); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') throw new HacktreeError('MOUNT', `mountpoint ${mnt} is a mount whose daemon died: run \`hacktree umount ${mnt}\``);
    throw new HacktreeError('MOUNT', `mountpoint ${mnt} does not exist`);
  }
  if (!st.isDirectory()) throw new HacktreeError('MOUNT', `mountpoint ${mnt} is not a directory`);
  if (readMountsSync().some((m) => m.mountpoint === mnt)) throw new HacktreeError('MOUNT', `mountpoint ${mnt} is busy: something is already mounted there`);
  if (!nonempty && fs.readdirSync(mnt).length > 0) throw new HacktreeError('MOUNT', `mountpoint ${mnt} is not empty (use -o nonempty to mount over it anyway)`);
}

/**
 * Checks the request, in the order `hacktree mount` makes its checks (the repository, REV, the
 * options, the mountpoint): a daemon given REV unresolved (req.unresolved) fails as the command
 * would. Returns the commit, the absolute mountpoint and the parsed options.
 */
export function prepareMount(req: MountRequest, repoOptions: RepoOptions = {}): { repo: Repo; commit: Checksum; mnt: string; opts: MountOptionsParsed } {
  const repo = Repo.open(req.repoPath, repoOptions);
  let commit = req.commit;
  try {
    if (req.unresolved) commit = resolveRev(repo, req.commit);
    const opts = parseMountOptions(req.options);
    if (!repo.hasObject(commit, 'commit')) {
      throw new HacktreeError('MISSING_OBJECT', `commit ${commit}${req.rev && req.rev !== commit ? ` (${req.rev})` : ''} is not in ${repo.path}`);
    }
    if (req.layer) {
      const other = findLayerMount(req.layer.dir);
      // One daemon owns a layer at a time.
      if (other) throw new HacktreeError('MOUNT', `${req.layer.root ? `root '${req.layer.root}'` : `the layer ${req.layer.dir}`} is already mounted at ${other.mountpoint}`);
    }
    const mnt = kernelPath(resolve(req.mountpoint));
    checkMountpoint(mnt, opts.nonempty);
    return { repo, commit, mnt, opts };
  } catch (e) {
    repo.close();
    throw e;
  }
}

/**
 * Has the daemon serving a layer at `mountpoint` take it up again, with `commit` beneath it (after
 * a layer reset, an upgrade or a rollback done under the mount), and resolves once the kernel has
 * forgotten all that may have changed.
 */
export async function requestReload(mountpoint: string, commit: Checksum): Promise<void> {
  const mnt = kernelPath(resolve(mountpoint));
  const st = readState(mnt);
  if (!st || st.pid <= 0 || !isAlive(st.pid)) throw new HacktreeError('MOUNT', `${mnt} is served by no live daemon`);
  const before = st.reloads ?? 0;
  atomicWriteFileSync(reloadPath(mnt), `${commit}\n`, false);
  process.kill(st.pid, 'SIGUSR2');
  // However busy the machine: a minute, then the mount is called stuck.
  for (let i = 0; i < 1200; i++) {
    if ((readState(mnt)?.reloads ?? 0) > before) return;
    if (!isAlive(st.pid)) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new HacktreeError('MOUNT', `the daemon of ${mnt} did not take up its layer again (log: ${logPath(mnt)})`);
}

/**
 * Starts the mount in the background, under a supervisor (mount-supervisor.ts) that starts
 * the daemon and mounts again if it dies; resolves once the mount is ready. A boot mount
 * (`-o boot`) has no supervisor: its mount becomes a booted system's `/`, which no new daemon
 * could be mounted over, and a supervisor would be one more process for systemd's shutdown to
 * stop and wait for (it is not named `@` as the daemon is, and waits for the daemon it signals).
 */
export async function mountInBackground(req: MountRequest): Promise<{ commit: Checksum; mnt: string }> {
  const { repo, mnt, opts } = prepareMount(req);
  const { child, answer } = opts.boot ? startDaemon(req, mnt, { detached: true }) : startSupervised(req, mnt);
  // A lazy mount's prefetch list is fetched from now on, not from when the daemon is up.
  const early = req.lazy ? (await import('./store/remote/lazy-commit.js')).fetchListWhileStarting(repo, req.lazy.remote, req.commit, req.lazy.timeoutMs) : null;
  const a = await answer;
  await early?.stop();
  repo.close();
  if (!a.ready) {
    // A check the daemon made again failed (the mountpoint taken meanwhile): as if made here.
    if (a.refused) throw new HacktreeError(a.refused, a.message);
    throw new HacktreeError('MOUNT', `${a.message} (log: ${logPath(mnt)})`);
  }
  child.unref();
  return { commit: a.commit, mnt };
}

/** A listed mount: its daemon's state, whether the daemon lives, and what its supervisor saw. */
export type ListedMount = MountState & { alive: boolean; supervisor?: { pid: number; alive: boolean }; deaths?: DaemonDeath[] };

export function listMounts(): ListedMount[] {
  return readMountsSync()
    .filter((m) => m.fstype === HACKTREE_FSTYPE)
    .map((m) => {
      const s = readState(m.mountpoint);
      const colon = m.source.lastIndexOf(':');
      const fallback = { pid: 0, mountpoint: m.mountpoint, repo: m.source.slice(0, colon), commit: m.source.slice(colon + 1), rev: '', started: '' };
      const st = s ?? fallback;
      const sup = readSupervisor(m.mountpoint);
      return {
        ...st, alive: st.pid > 0 && isAlive(st.pid),
        ...(sup ? { supervisor: { pid: sup.pid, alive: isAlive(sup.pid) }, deaths: sup.deaths } : {}),
      };
    });
}

/** The mount serving the layer at `dir`, if any (only one whose daemon lives, unless `alive` is false). */
export function findLayerMount(dir: string, alive = true): ListedMount | undefined {
  const d = resolve(dir);
  return listMounts().find((m) => m.layer === d && (!alive || m.alive));
}

/** Unmounts a hacktree mount, also one whose daemon died, and stops its daemon and supervisor. */
export async function unmount(mountpoint: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const mnt = kernelPath(resolve(mountpoint));
  const entry = readMountsSync().find((m) => m.mountpoint === mnt);
  if (!entry) throw new HacktreeError('MOUNT', `${mnt} is not mounted`);
  if (entry.fstype !== HACKTREE_FSTYPE) throw new HacktreeError('MOUNT', `${mnt} is not a hacktree mount (it is ${entry.fstype})`);
  const state = readState(mnt);
  const r = fusermountU(mnt, opts.lazy ?? false);
  if (!r.ok) {
    if (/busy/i.test(r.why)) throw new HacktreeError('MOUNT', `${mnt} is busy (a process uses it); close it, or unmount lazily with --lazy`);
    throw new HacktreeError('MOUNT', `cannot unmount ${mnt}: ${r.why}`);
  }
  // The supervisor first: it must not take the daemon's leaving for a death and mount again.
  const pids = [readSupervisor(mnt)?.pid, state?.pid].filter((p): p is number => p !== undefined && p > 0 && isAlive(p));
  for (const pid of pids) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
  for (let i = 0; i < 50 && pids.some(isAlive); i++) await new Promise((r2) => setTimeout(r2, 100));
  fs.rmSync(statePath(mnt), { force: true });
  fs.rmSync(supervisorPath(mnt), { force: true });
}
