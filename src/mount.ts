// Mounting commits, read-only or with a writable layer: checks, the background
// daemon, unmounting, listing. Roots mount through here; this file knows nothing
// of them (a layer's owner is a label it records).
//
// The caller resolves REV to a checksum; `hacktree mount` checks everything it can
// (repo, commit, mountpoint), then starts itself again in the foreground as a
// detached daemon, given that checksum (daemonArgv), and returns once the daemon
// reports the mount ready on a pipe. The daemon serves the mount from its own
// event loop and never touches the mount itself.
import fs from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { HacktreeError, UsageError } from './errors.js';
import { Repo } from './store/repo.js';
import type { Checksum } from './store/checksum.js';
import { CommitFs } from './fuse/commit-fs.js';
import { OverlayFs } from './fuse/overlay-fs.js';
import { serve } from './fuse/serve.js';
import type { Backend } from './fuse/backend.js';
import type { FuseMount } from './fuse/binding.js';
import { Layer } from './overlay/layer.js';
import { HACKTREE_FSTYPE, readMounts, readMountsSync } from './fuse/mountinfo.js';
import { isPartial, lazyStart } from './store/remote/lazy-commit.js';
import type { LazyFetchStats } from './store/remote/lazy-fetcher.js';

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

/** Where a mount's pid and log live: tmpfs, gone at reboot like the mount itself. */
export function runDir(): string {
  const base = process.env.HACKTREE_RUN_DIR
    ?? (process.getuid?.() === 0 ? '/run/hacktree' : join(process.env.XDG_RUNTIME_DIR ?? os.tmpdir(), `hacktree-${process.getuid?.()}`));
  return join(base, 'mounts');
}

const keyOf = (mnt: string): string => createHash('sha256').update(mnt).digest('hex').slice(0, 16);

/** `root` and `sysroot` are the labels of a layer's owner (see MountRequest.layer); `layer` its directory. */
export interface MountState {
  pid: number; mountpoint: string; repo: string; commit: Checksum; rev: string; started: string; layer?: string; root?: string; sysroot?: string;
  /** A lazy mount's remote and what it has fetched so far (rewritten as it changes). */
  lazy?: { remote: string } & LazyFetchStats;
}

function statePath(mnt: string): string { return join(runDir(), `${keyOf(mnt)}.json`); }
export function logPath(mnt: string): string { return join(runDir(), `${keyOf(mnt)}.log`); }

function readState(mnt: string): MountState | null {
  try { return JSON.parse(fs.readFileSync(statePath(mnt), 'utf8')) as MountState; } catch { return null; }
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
   */
  layer?: { dir: string; root: string; sysroot: string };
  mountpoint: string;
  options: string[];
  /** The remote a partial commit's missing objects are fetched from, and how long a read waits for one. */
  lazy?: { remote: string; timeoutMs: number };
}

/** Checks the request; returns the absolute mountpoint and the parsed options. */
export function prepareMount(req: MountRequest): { repo: Repo; mnt: string; opts: MountOptionsParsed } {
  const opts = parseMountOptions(req.options);
  const repo = Repo.open(req.repoPath);
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

/**
 * The daemon's command line, and the only place it is built: `hacktree mount -f` with the
 * commit's checksum for REV, and the rest of the request in hidden options (mountCommandRequest
 * reads them back).
 */
export function daemonArgv(req: MountRequest, mnt: string): string[] {
  return [
    process.argv[1]!, '--repo', req.repoPath, 'mount', '-f', '--ready-fd', String(DAEMON_READY_FD),
    ...req.options.flatMap((x) => ['-o', x]),
    ...(req.rev && req.rev !== req.commit ? ['--label', req.rev] : []),
    ...(req.layer ? ['--layer', req.layer.dir, '--layer-root', req.layer.root, '--layer-sysroot', req.layer.sysroot] : []),
    ...(req.lazy ? ['--lazy-remote', req.lazy.remote, '--fetch-timeout', String(req.lazy.timeoutMs / 1000)] : []),
    req.commit, mnt,
  ];
}

/** The hidden options of `mount` that daemonArgv writes (--lazy-remote is given with --fetch-timeout, a visible option). */
export interface DaemonOptions { label?: string; layer?: string; layerRoot?: string; layerSysroot?: string; lazyRemote?: string }

/** The request a `mount` command line names; `commit` is REV resolved by the caller. */
export function mountCommandRequest(repoPath: string, commit: Checksum, rev: string, mountpoint: string, options: string[], d: DaemonOptions & { fetchTimeoutMs: number }): MountRequest {
  if ((d.layerRoot !== undefined || d.layerSysroot !== undefined) && d.layer === undefined) throw new UsageError('--layer-root and --layer-sysroot go with --layer');
  return {
    repoPath, commit, rev: d.label ?? rev, mountpoint, options,
    ...(d.layer !== undefined ? { layer: { dir: d.layer, root: d.layerRoot ?? '', sysroot: d.layerSysroot ?? '' } } : {}),
    ...(d.lazyRemote !== undefined ? { lazy: { remote: d.lazyRemote, timeoutMs: d.fetchTimeoutMs } } : {}),
  };
}

const DAEMON_READY_FD = 3;

/** Runs the daemon in this process until the mount goes away. `ready` is told once it serves. */
export async function runMountDaemon(req: MountRequest, ready: (err: Error | null) => void): Promise<void> {
  let prepared;
  try {
    prepared = prepareMount(req);
  } catch (e) {
    ready(e as Error);
    throw e;
  }
  const { repo, mnt, opts } = prepared;
  const commit = req.commit;
  const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} hacktree mount ${mnt}: ${msg}\n`); };
  const partial = isPartial(repo.path, commit);
  if (partial && !req.lazy) {
    const e = new HacktreeError('MISSING_OBJECT', `commit ${commit} is partial (a lazy mount's or an interrupted pull's): mount it as REMOTE:BRANCH, or pull it first`);
    ready(e);
    throw e;
  }
  const lazy = partial && req.lazy ? lazyStart(repo, req.lazy.remote, commit, req.lazy.timeoutMs, log) : null;
  const fetcher = lazy?.fetcher ?? null;
  repo.fetcher = fetcher;
  let fuse: FuseMount | undefined;
  let base: CommitFs;
  let backend: Backend;
  let layer: Layer | null = null;
  const counts: Record<string, number> = {};
  try {
    // Checked content is read natively: the binding opens the object file. (On a root's mount
    // the binding keeps it only while the path is still the commit's file: see cacheContent.)
    const contentChecked = (path: string, file: string): void => fuse?.cacheContent(path, file);
    // A commit's mount keeps every listing natively (native/ll): JS keeps a working set only.
    // A partial commit's hard links are counted only once it is whole: counting reads every dirtree.
    base = await CommitFs.open(repo, commit, { verify: opts.verify, log, contentChecked, countLinks: !partial, recordStats: !partial, ...(req.layer ? {} : { cacheScale: 1 / 8 }) });
    if (req.layer) {
      layer = Layer.open(req.layer.dir, { forMount: true });
      // New entries get exactly the mode the kernel passes (it has applied the caller's umask).
      process.umask(0);
    }
    backend = layer ? new OverlayFs(base, layer, log) : base;
    fuse = await serve(backend, mnt, {
      fsname: `${repo.path}:${commit}`,
      readOnly: !layer,
      asRoot: process.getuid?.() === 0,
      // No hard_remove (with it, libfuse 2 answered fstat of an unlinked open file with ENOENT):
      // libfuse renames such a file to .fuse_hidden* instead, which the layer serves as unlinked.
      // (libfuse 3 writes up to 1 MiB per request by itself: libfuse 2 needed big_writes.)
      extra: opts.extra,
      log,
      counts,
      bootRoot: opts.boot,
    });
  } catch (e) {
    await fetcher?.close();
    ready(e as Error);
    throw e;
  }
  fs.mkdirSync(runDir(), { recursive: true });
  const state: MountState = { pid: process.pid, mountpoint: mnt, repo: repo.path, commit, rev: req.rev, started: new Date().toISOString(), ...(req.layer ? { layer: resolve(req.layer.dir), root: req.layer.root, sysroot: resolve(req.layer.sysroot) } : {}) };
  const lazyState = (): MountState['lazy'] => (fetcher && req.lazy ? { remote: req.lazy.remote, ...fetcher.stats } : undefined);
  const writeState = (): void => { fs.writeFileSync(statePath(mnt), JSON.stringify({ ...state, lazy: lazyState() }), { mode: 0o644 }); };
  writeState();
  /** The prefetch list this lazy mount recorded, once its start is over (or it stops). */
  const saveRecorded = (stopping: boolean): void => {
    try { lazy?.saveRecorded(stopping); } catch (e) { log(`could not save the prefetch list: ${(e as Error).message}`); }
  };
  log(`serving commit ${commit} (${req.rev}) from ${repo.path}`);
  ready(null);

  if (opts.boot) {
    process.title = `@hacktree ${req.layer?.root ?? commit.slice(0, 12)}`;
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => log(`${sig} ignored: this mount is a booted system's /`));
    // Serves until the kernel ends the session (power off): nothing here may stop it.
    await new Promise<never>(() => {});
  }
  await new Promise<void>((done) => {
    let stopping = false;
    const stop = async (why: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      const called = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ');
      const requests = Object.entries(fuse.requestCounts()).map(([k, n]) => `${k}=${n}`).join(' ');
      log(`stopping: ${why}; ops: ${called || 'none'}; content: ${JSON.stringify(base.content.stats)}; kernel requests: ${requests || 'none'}`);
      base.indexWrites.flush();
      saveRecorded(true);
      await fetcher?.close();
      // Unmounting an already-unmounted path can hang in libfuse: don't wait for it for long.
      await Promise.race([fuse.unmount().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      fs.rmSync(statePath(mnt), { force: true });
      layer?.close();
      done();
    };
    // Unmounted from outside (umount, fusermount -u): the binding keeps the process, so notice and leave.
    let reported = JSON.stringify(lazyState());
    const watch = setInterval(() => {
      const now = JSON.stringify(lazyState());
      if (now !== reported) { reported = now; writeState(); }
      saveRecorded(false);
      readMounts().then((ms) => { if (!ms.some((m) => m.mountpoint === mnt && m.fstype === HACKTREE_FSTYPE)) void stop('unmounted'); }, () => {});
    }, 1000);
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => void stop('SIGHUP'));
  });
}

/**
 * The daemon's side of `mount -f` / `root mount -f`: serve until unmounted,
 * telling the parent on `readyFd` (when daemonized) whether the mount came up.
 */
export async function serveInForeground(req: MountRequest, readyFd: number | null): Promise<never> {
  await runMountDaemon(req, (err) => {
    if (readyFd === null) return;
    try { fs.writeSync(readyFd, err ? `error: ${err.message}\n` : 'ready\n'); fs.closeSync(readyFd); } catch { /* parent gone */ }
  });
  // The binding's FUSE thread keeps the loop alive after the unmount: leave explicitly.
  process.exit(0);
}

/** Starts the daemon in the background; resolves once the mount is ready. */
export async function mountInBackground(req: MountRequest): Promise<{ commit: Checksum; mnt: string }> {
  const { mnt } = prepareMount(req);
  fs.mkdirSync(runDir(), { recursive: true });
  const logFd = fs.openSync(logPath(mnt), 'a');
  const commit = req.commit;
  const child = spawn(process.execPath, [...process.execArgv, ...daemonArgv(req, mnt)], {
    detached: true,
    // Object reads and xattr lookups wait in libuv's pool: give a cold disk more of them in flight.
    env: { UV_THREADPOOL_SIZE: '16', ...process.env },
    // The pipe is fd DAEMON_READY_FD in the child.
    stdio: ['ignore', logFd, logFd, 'pipe'],
  });
  fs.closeSync(logFd);
  const pipe = child.stdio[DAEMON_READY_FD] as NodeJS.ReadableStream;
  const answer = await new Promise<string>((res) => {
    let buf = '';
    pipe.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('\n')) res(buf); });
    pipe.on('end', () => res(buf || 'error: the mount daemon exited before the mount was ready\n'));
    child.on('exit', (code) => res(buf || `error: the mount daemon exited with code ${code} before the mount was ready\n`));
  });
  if (!answer.startsWith('ready')) {
    throw new HacktreeError('MOUNT', `${answer.replace(/^error: /, '').trim()} (log: ${logPath(mnt)})`);
  }
  (pipe as NodeJS.ReadableStream & { destroy(): void }).destroy();
  child.unref();
  return { commit, mnt };
}

export function listMounts(): Array<MountState & { alive: boolean }> {
  return readMountsSync()
    .filter((m) => m.fstype === HACKTREE_FSTYPE)
    .map((m) => {
      const s = readState(m.mountpoint);
      const colon = m.source.lastIndexOf(':');
      const fallback = { pid: 0, mountpoint: m.mountpoint, repo: m.source.slice(0, colon), commit: m.source.slice(colon + 1), rev: '', started: '' };
      const st = s ?? fallback;
      return { ...st, alive: st.pid > 0 && isAlive(st.pid) };
    });
}

/** The mount serving the layer at `dir`, if any (only one whose daemon lives, unless `alive` is false). */
export function findLayerMount(dir: string, alive = true): (MountState & { alive: boolean }) | undefined {
  const d = resolve(dir);
  return listMounts().find((m) => m.layer === d && (!alive || m.alive));
}

/** A daemon that was killed may linger as a zombie until it is reaped: that counts as dead. */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Unmounts a hacktree mount, also one whose daemon died, and stops its daemon. */
export async function unmount(mountpoint: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const mnt = resolve(mountpoint);
  const entry = readMountsSync().find((m) => m.mountpoint === mnt);
  if (!entry) throw new HacktreeError('MOUNT', `${mnt} is not mounted`);
  if (entry.fstype !== HACKTREE_FSTYPE) throw new HacktreeError('MOUNT', `${mnt} is not a hacktree mount (it is ${entry.fstype})`);
  const state = readState(mnt);
  const tool = fs.existsSync('/usr/bin/fusermount3') ? 'fusermount3' : 'fusermount';
  const r = spawnSync(tool, ['-u', ...(opts.lazy ? ['-z'] : []), mnt], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim();
    if (/busy/i.test(why)) throw new HacktreeError('MOUNT', `${mnt} is busy (a process uses it); close it, or unmount lazily with --lazy`);
    throw new HacktreeError('MOUNT', `cannot unmount ${mnt}: ${why}`);
  }
  if (state && state.pid > 0 && isAlive(state.pid)) {
    try { process.kill(state.pid, 'SIGTERM'); } catch { /* gone */ }
    for (let i = 0; i < 50 && isAlive(state.pid); i++) await new Promise((r2) => setTimeout(r2, 100));
  }
  fs.rmSync(statePath(mnt), { force: true });
}
