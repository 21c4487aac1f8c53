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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HacktreeError, UsageError } from './errors.js';
import { Repo, type RepoOptions } from './store/repo.js';
import type { Checksum } from './store/checksum.js';
import { HACKTREE_FSTYPE, readMountsSync } from './fuse/mountinfo.js';
import { atomicWriteFileSync } from './store/durable.js';
import { isAlive, logPath, readState, readSupervisor, reloadPath, runDir, statePath, supervisorPath, type DaemonDeath, type MountState } from './mount-state.js';

export { logPath, reloadPath, runDir, statePath, type MountState } from './mount-state.js';

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

/** A commit read-only, or a commit with a writable layer over it. */
export interface MountRequest {
  repoPath: string;
  /**
   * The commit's checksum, resolved once by the caller: the daemon serves exactly the commit
   * the caller printed, even if a branch moves before the daemon starts.
   */
  commit: Checksum;
  /** What the caller named (a branch, say): kept for listings and logs, never resolved again. */
  rev: string;
  /**
   * A writable layer over the commit. `root` and `sysroot` label its owner in the mount's state
   * so that whoever owns it can find the mount again; mounting does not interpret them.
   * `discard`: a throwaway layer, deleted when the mount ends.
   */
  layer?: { dir: string; root: string; sysroot: string; discard?: boolean };
  mountpoint: string;
  options: string[];
  /** The remote a partial commit's missing objects are fetched from, and how long a read waits for one. */
  lazy?: { remote: string; timeoutMs: number };
}

/** Checks the request; returns the absolute mountpoint and the parsed options. */
export function prepareMount(req: MountRequest, repoOptions: RepoOptions = {}): { repo: Repo; mnt: string; opts: MountOptionsParsed } {
  const opts = parseMountOptions(req.options);
  const repo = Repo.open(req.repoPath, repoOptions);
  if (!repo.hasObject(req.commit, 'commit')) {
    throw new HacktreeError('MISSING_OBJECT', `commit ${req.commit}${req.rev && req.rev !== req.commit ? ` (${req.rev})` : ''} is not in ${repo.path}`);
  }
  if (req.layer) {
    const other = findLayerMount(req.layer.dir);
    // One daemon owns a layer at a time.
    if (other) throw new HacktreeError('MOUNT', `${req.layer.root ? `root '${req.layer.root}'` : `the layer ${req.layer.dir}`} is already mounted at ${other.mountpoint}`);
  }
  const mnt = resolve(req.mountpoint);
  checkMountpoint(mnt, opts.nonempty);
  return { repo, mnt, opts };
}

/** The daemon's own entry: it loads what serving needs, not the command line's modules. */
const DAEMON_MAIN = fileURLToPath(new URL('./daemon-main.js', import.meta.url));
/** The command line's entry, which runs a mount's supervisor (`mount -f --supervise`). */
const CLI_MAIN = fileURLToPath(new URL('./cli/main.js', import.meta.url));

/**
 * A commit's daemon holds little that lives (~12 MB of heap after a walk of 139,000 entries)
 * and churns a lot (every listing is built, handed to native/ll and dropped). V8's defaults
 * (semi-spaces growing to 16 MB, the old generation let grow up to 4x what survived) left a
 * peak RSS of ~190 MB after that walk; semi-spaces of 1 MB and an old generation let grow by
 * half of what survived keep it at ~130 MB, at no cost measured in a cold find or tar. A root's
 * daemon keeps V8's defaults: its heap lives longer (the layer, larger caches) and its writes
 * were not measured under these.
 */
const COMMIT_DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=50'];

/**
 * The daemon's command line (what follows node's path), and the only place it is built:
 * node's options (this process's own come after the daemon's defaults, so they win),
 * daemon-main.ts with the options of `hacktree mount -f`, the commit's checksum for REV and
 * the rest of the request in the hidden options (mountCommandRequest reads them back).
 */
export function daemonArgv(req: MountRequest, mnt: string, supervise = false): string[] {
  return [
    // The supervisor is `hacktree mount -f --supervise` (mount-supervisor.ts), which starts the daemon.
    ...(supervise ? [...process.execArgv, CLI_MAIN, '--repo', req.repoPath, 'mount', '-f', '--supervise']
      : [...(req.layer ? [] : COMMIT_DAEMON_NODE_FLAGS), ...process.execArgv, DAEMON_MAIN, '--repo', req.repoPath]),
    '--ready-fd', String(DAEMON_READY_FD),
    ...req.options.flatMap((x) => ['-o', x]),
    ...(req.rev && req.rev !== req.commit ? ['--label', req.rev] : []),
    ...(req.layer ? ['--layer', req.layer.dir, '--layer-root', req.layer.root, '--layer-sysroot', req.layer.sysroot, ...(req.layer.discard ? ['--layer-discard'] : [])] : []),
    ...(req.lazy ? ['--lazy-remote', req.lazy.remote, '--fetch-timeout', String(req.lazy.timeoutMs / 1000)] : []),
    req.commit, mnt,
  ];
}

/** The hidden options of `mount` that daemonArgv writes (--lazy-remote is given with --fetch-timeout, a visible option). */
export interface DaemonOptions { label?: string; layer?: string; layerRoot?: string; layerSysroot?: string; layerDiscard?: boolean; lazyRemote?: string }

/** The request a `mount` command line names; `commit` is REV resolved by the caller. */
export function mountCommandRequest(repoPath: string, commit: Checksum, rev: string, mountpoint: string, options: string[], d: DaemonOptions & { fetchTimeoutMs: number }): MountRequest {
  if ((d.layerRoot !== undefined || d.layerSysroot !== undefined || d.layerDiscard) && d.layer === undefined) throw new UsageError('--layer-root, --layer-sysroot and --layer-discard go with --layer');
  return {
    repoPath, commit, rev: d.label ?? rev, mountpoint, options,
    ...(d.layer !== undefined ? { layer: { dir: d.layer, root: d.layerRoot ?? '', sysroot: d.layerSysroot ?? '', ...(d.layerDiscard ? { discard: true } : {}) } } : {}),
    ...(d.lazyRemote !== undefined ? { lazy: { remote: d.lazyRemote, timeoutMs: d.fetchTimeoutMs } } : {}),
  };
}

const DAEMON_READY_FD = 3;

/**
 * Has the daemon serving a layer at `mountpoint` take it up again, with `commit` beneath it (after
 * a layer reset, an upgrade or a rollback done under the mount), and resolves once the kernel has
 * forgotten all that may have changed.
 */
export async function requestReload(mountpoint: string, commit: Checksum): Promise<void> {
  const mnt = resolve(mountpoint);
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
 * Starts the daemon (or, with `supervise`, its supervisor) as a child writing to the mount's
 * log; `answer` resolves to its first line on the ready pipe ('ready', or 'error: ...').
 */
export function startDaemon(req: MountRequest, mnt: string, o: { supervise: boolean; detached: boolean }): { child: ChildProcess; answer: Promise<string> } {
  fs.mkdirSync(runDir(), { recursive: true });
  const logFd = fs.openSync(logPath(mnt), 'a');
  const child = spawn(process.execPath, daemonArgv(req, mnt, o.supervise), {
    detached: o.detached,
    // Object reads and xattr lookups wait in libuv's pool: give a cold disk more of them in flight.
    env: { UV_THREADPOOL_SIZE: '16', ...process.env },
    // The pipe is fd DAEMON_READY_FD in the child.
    stdio: ['ignore', logFd, logFd, 'pipe'],
  });
  fs.closeSync(logFd);
  const pipe = child.stdio[DAEMON_READY_FD] as NodeJS.ReadableStream & { destroy(): void };
  const answer = new Promise<string>((res) => {
    let buf = '';
    pipe.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('\n')) res(buf); });
    pipe.on('end', () => res(buf || 'error: the mount daemon exited before the mount was ready\n'));
    child.on('exit', (code) => res(buf || `error: the mount daemon exited with code ${code} before the mount was ready\n`));
  }).finally(() => pipe.destroy());
  return { child, answer };
}

/**
 * Starts the mount in the background, under a supervisor (mount-supervisor.ts) that starts
 * the daemon and mounts again if it dies; resolves once the mount is ready. A boot mount
 * (`-o boot`) has no supervisor: its mount becomes a booted system's `/`, which no new daemon
 * could be mounted over, and a supervisor would be one more process for systemd's shutdown to
 * stop and wait for (it is not named `@` as the daemon is, and waits for the daemon it signals).
 */
export async function mountInBackground(req: MountRequest): Promise<{ commit: Checksum; mnt: string }> {
  const { mnt, opts } = prepareMount(req);
  const { child, answer } = startDaemon(req, mnt, { supervise: !opts.boot, detached: true });
  const a = await answer;
  if (!a.startsWith('ready')) {
    throw new HacktreeError('MOUNT', `${a.replace(/^error: /, '').trim()} (log: ${logPath(mnt)})`);
  }
  child.unref();
  return { commit: req.commit, mnt };
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

/** fusermount -u (-z: lazily, detaching it even while in use); the tool's result. */
export function fusermountU(mnt: string, lazy: boolean): { ok: boolean; why: string } {
  const tool = fs.existsSync('/usr/bin/fusermount3') ? 'fusermount3' : 'fusermount';
  const r = spawnSync(tool, ['-u', ...(lazy ? ['-z'] : []), mnt], { encoding: 'utf8' });
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || '').trim() };
}

/** Unmounts a hacktree mount, also one whose daemon died, and stops its daemon and supervisor. */
export async function unmount(mountpoint: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const mnt = resolve(mountpoint);
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
