// The daemon of a mount: serves a commit (or a root's layer over it) from this process's
// event loop until the mount goes away. Loaded only by the daemon (daemon-main.ts) and by
// `mount -f`: what a read-only commit does not need (the layer, a lazy mount's fetching)
// is loaded only when the request asks for it, since a mount waits for all of it to load.
import fs from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HacktreeError } from './errors.js';
import type { Checksum } from './store/checksum.js';
import { CommitFs } from './fuse/commit-fs.js';
import { serve } from './fuse/serve.js';
import { metaReader, objectChecker } from './fuse/ll/check-object.js';
import type { Backend } from './fuse/backend.js';
import type { FuseMount } from './fuse/types.js';
import type { Layer } from './overlay/layer.js';
import { HACKTREE_FSTYPE, readMounts } from './fuse/mountinfo.js';
import { isPartial } from './store/layout.js';
import { answerLine, prepareMount, reloadPath, runDir, statePath, type DaemonAnswer, type MountRequest, type MountState } from './mount.js';

/**
 * Parsed dirtrees a commit's daemon keeps (the repo's default is 20,000): once a directory is
 * listed, native/ll answers everything under it, so JS needs a working set only. A walk of
 * 139,000 entries through the default held ~30 MB of dirtrees for nothing.
 */
const COMMIT_MOUNT_DIRTREE_CACHE = 512;

/** Runs the daemon in this process until the mount goes away. `ready` is told once it serves. */
export async function runMountDaemon(req: MountRequest, ready: (a: DaemonAnswer) => void): Promise<void> {
  let prepared;
  try {
    prepared = prepareMount(req, req.layer ? {} : { dirTreeCacheEntries: COMMIT_MOUNT_DIRTREE_CACHE });
  } catch (e) {
    // The command's own checks, made again here (or for the first time: req.unresolved).
    const refused = e instanceof HacktreeError ? { refused: e.code } : {};
    ready({ ready: false, message: (e as Error).message, ...refused });
    throw e;
  }
  const { repo, mnt, opts } = prepared;
  let commit = prepared.commit;
  const failed = (e: unknown): void => ready({ ready: false, message: (e as Error).message });
  const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} hacktree mount ${mnt}: ${msg}\n`); };
  const partial = isPartial(repo.path, commit);
  if (partial && !req.lazy) {
    const e = new HacktreeError('MISSING_OBJECT', `commit ${commit} is partial (a lazy mount's or an interrupted pull's): mount it as REMOTE:BRANCH, or pull it first`);
    failed(e);
    throw e;
  }
  const lazy = partial && req.lazy ? (await import('./store/remote/lazy-commit.js')).lazyStart(repo, req.lazy.remote, commit, req.lazy.timeoutMs, log) : null;
  const fetcher = lazy?.fetcher ?? null;
  repo.fetcher = fetcher;
  const ahead = lazy?.ahead ?? null;
  let fuse: (FuseMount & { reload?: (b: Backend) => Promise<void> }) | undefined;
  let base: CommitFs;
  let backend: Backend;
  let layer: Layer | null = null;
  const counts: Record<string, number> = {};
  let timing = '';
  // Checked content is read natively: the binding opens the object file. (On a root's mount
  // it does so only while the path is still the commit's file.)
  const contentChecked = (path: string, file: string): void => fuse?.cacheContent(path, file);
  // Only a root's mount has a layer (and its rules, its database): a commit's does not load them.
  const overlay = req.layer ? await Promise.all([import('./overlay/layer.js'), import('./fuse/overlay-fs.js')]) : null;
  const loaded = performance.now();
  // A local commit's objects are checked by the addon, off the event loop (a root's too: its
  // grafts read as a commit's mount does), and so are its metadata objects (a cold walk reads a
  // dirtree per directory). Not a lazy mount's: its walk detection (CommitFs.walkedOn) sees the
  // first reads that reach JS, and files checked that fast ahead of a walk would be read without any.
  const check = fetcher ? {} : { check: objectChecker() };
  if (!fetcher) repo.metaReader = metaReader();
  try {
    // A commit's mount keeps every listing natively (native/ll): JS keeps a working set only.
    // A partial commit's hard links are counted only once it is whole: counting reads every dirtree.
    base = await CommitFs.open(repo, commit, { verify: opts.verify, log, contentChecked, countLinks: !partial, recordStats: !partial, ...(ahead ? { ahead } : {}), ...(req.layer ? {} : { cacheScale: 1 / 8 }), ...check });
    const opened = performance.now();
    if (req.layer && overlay) {
      layer = overlay[0].Layer.open(req.layer.dir, { forMount: true });
      // New entries get exactly the mode the kernel passes (it has applied the caller's umask).
      process.umask(0);
    }
    backend = layer && overlay ? new overlay[1].OverlayFs(base, layer, log) : base;
    fuse = await serve(backend, mnt, {
      fsname: `${repo.path}:${commit}`,
      readOnly: !layer,
      asRoot: process.getuid?.() === 0,
      // (libfuse 3 writes up to 1 MiB per request by itself: libfuse 2 needed big_writes.)
      extra: opts.extra,
      log,
      counts,
      bootRoot: opts.boot,
    });
    const cpu = process.cpuUsage();
    const boot = performance.nodeTiming.bootstrapComplete;
    timing = `ready ${ms(performance.now())} ms after the process started (${ms((cpu.user + cpu.system) / 1000)} ms of CPU): node ${ms(boot)}, modules ${ms(loaded - boot)}, repo and commit ${ms(opened - loaded)}, FUSE ${ms(performance.now() - opened)}`;
  } catch (e) {
    ahead?.close();
    await fetcher?.close();
    failed(e);
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
  log(`serving commit ${commit} (${req.rev}) from ${repo.path}; ${timing}`);
  ready({ ready: true, commit });
  lazy?.started();

  if (opts.boot) {
    // Named so that systemd's shutdown leaves it running (systemd.io/ROOT_STORAGE_DAEMONS).
    process.title = `@hacktree ${req.layer?.root ?? commit.slice(0, 12)}`;
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'] as const) process.on(sig, () => log(`${sig} ignored: this mount is a booted system's /`));
    // Serves until the kernel ends the session (power off): nothing here may stop it. The
    // mount table is not watched: the boot helper moves the mount out of this process's sight.
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
      // Objects found good by checks still in flight are marked too (for a second at most).
      await Promise.race([base.content.settled(), new Promise((r) => setTimeout(r, 1000).unref())]);
      log(`stopping: ${why}; ops: ${called || 'none'}; content: ${JSON.stringify(base.content.stats)}; memory: ${memoryLine()}; kernel requests: ${requests || 'none'}`);
      base.indexWrites.flush();
      saveRecorded(true);
      ahead?.close();
      await fetcher?.close();
      // Unmounting an already-unmounted path can hang in libfuse: don't wait for it for long.
      await Promise.race([fuse.unmount().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      fs.rmSync(statePath(mnt), { force: true });
      fs.rmSync(reloadPath(mnt), { force: true });
      layer?.close();
      if (req.layer?.discard) fs.rmSync(req.layer.dir, { recursive: true, force: true });
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
    // A layer was reset, or its owner runs another commit now (requestReload).
    let reloading = Promise.resolve();
    if (req.layer) process.on('SIGUSR2', () => { reloading = reloading.then(reload, (e: unknown) => log(`reload failed: ${String(e)}`)); });
  });

  /** Serves the layer and the commit requestReload names as they are now; the kernel forgets what it knew before. */
  async function reload(): Promise<void> {
    const now = readReloadRequest(mnt) ?? commit;
    if (now !== commit) {
      base.indexWrites.flush();
      base = await CommitFs.open(repo, now, { verify: opts.verify, log, contentChecked, ...check });
      log(`now serving commit ${now} (was ${commit})`);
      commit = now;
    }
    const old = layer;
    layer = overlay![0].Layer.open(req.layer!.dir);
    backend = new overlay![1].OverlayFs(base, layer, log);
    await fuse!.reload!(backend);
    old?.close();
    state.commit = commit;
    state.reloads = (state.reloads ?? 0) + 1;
    writeState();
  }
}

/** The daemon's memory in MB: resident (now and peak), V8's heap (reserved, used) and what lives outside it. */
function memoryLine(): string {
  const m = process.memoryUsage();
  const mb = (n: number): string => (n / 2 ** 20).toFixed(0);
  const peak = process.resourceUsage().maxRSS * 1024;
  return `rss ${mb(m.rss)} (peak ${mb(peak)}) heap ${mb(m.heapTotal)} (used ${mb(m.heapUsed)}) external ${mb(m.external)} (buffers ${mb(m.arrayBuffers)})`;
}

function readReloadRequest(mnt: string): Checksum | null {
  try { return fs.readFileSync(reloadPath(mnt), 'utf8').trim() || null; } catch { return null; }
}

/**
 * The daemon's side of `mount -f` / `root mount -f`: serve until unmounted,
 * telling the parent on `readyFd` (when daemonized) whether the mount came up.
 */
export async function serveInForeground(req: MountRequest, readyFd: number | null): Promise<never> {
  await runMountDaemon(req, (a) => {
    if (readyFd === null) return;
    try { fs.writeSync(readyFd, answerLine(a)); fs.closeSync(readyFd); } catch { /* parent gone */ }
  });
  // The binding's FUSE thread keeps the loop alive after the unmount: leave explicitly.
  process.exit(0);
}

const ms = (t: number): string => t.toFixed(0);
