// The processes of a background mount: the supervisor (supervisor-main.ts) and the daemon
// (daemon-main.ts), their command lines, and starting one of them. Both entries load this
// file before they do anything, so it imports nothing but node's own modules, the run
// directory's paths and the errors: a mount's start waits for each process to load it.
import fs from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { UsageError } from './errors.js';
import type { Checksum } from './store/checksum.js';
import { logPath, runDir } from './mount-state.js';
import { entryPath } from './dist-paths.js';

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

/** The daemon's own entry: it loads what serving needs, not the command line's modules. */
const DAEMON_MAIN = 'daemon-main';
/** The supervisor's entry: it starts the daemon before it loads anything else. */
const SUPERVISOR_MAIN = 'supervisor-main';

/**
 * A commit's daemon holds little that lives (~12 MB of heap after a walk of 139,000 entries)
 * and churns a lot (every listing is built, handed to native/ll and dropped). V8's defaults
 * (semi-spaces growing to 16 MB, the old generation let grow up to 4x what survived) left a
 * peak RSS of ~190 MB after that walk; semi-spaces that stay at 1 MB and an old generation let
 * grow by half of what survived keep it at ~130 MB, at no cost measured in a cold find or tar.
 * Set once the daemon runs, not on node's command line: any V8 flag there makes node compile
 * its own modules from source instead of taking their code cache (V8 checks the flags the cache
 * was made under), ~40 ms of CPU at every start; these two are read by V8 whenever it sizes the
 * heap, so they take effect as well from here. A root's daemon keeps V8's defaults: its heap
 * lives longer (the layer, larger caches) and its writes were not measured under these.
 */
export function commitDaemonHeap(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=50');
}

export const DAEMON_READY_FD = 3;

/**
 * The command line of the daemon, or with `supervise` of its supervisor (what follows node's
 * path), and the only place it is built: this process's node options, the entry, the options
 * of `hacktree mount -f`, the commit's checksum for REV and the rest of the request in the
 * hidden options (parseDaemonArgv reads them back). The supervisor takes the daemon's
 * arguments and hands them on.
 */
export function daemonArgv(req: MountRequest, mnt: string, supervise = false): string[] {
  return [
    ...(supervise ? [...process.execArgv, entryPath(SUPERVISOR_MAIN)]
      : [...process.execArgv, entryPath(DAEMON_MAIN)]),
    '--repo', req.repoPath,
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

/** The request and the ready fd of a daemon's or supervisor's command line (daemonArgv without the entry). */
export function parseDaemonArgv(argv: string[]): { req: MountRequest; readyFd: number | null } {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'repo': { type: 'string' }, 'ready-fd': { type: 'string' }, 'options': { type: 'string', short: 'o', multiple: true, default: [] },
      'label': { type: 'string' }, 'layer': { type: 'string' }, 'layer-root': { type: 'string' }, 'layer-sysroot': { type: 'string' }, 'layer-discard': { type: 'boolean' },
      'lazy-remote': { type: 'string' }, 'fetch-timeout': { type: 'string', default: '10' },
    },
  });
  const [commit, mountpoint] = positionals;
  const req = mountCommandRequest(o.repo!, commit!, commit!, mountpoint!, o.options, {
    label: o.label, layer: o.layer, layerRoot: o['layer-root'], layerSysroot: o['layer-sysroot'], layerDiscard: o['layer-discard'], lazyRemote: o['lazy-remote'],
    fetchTimeoutMs: Number(o['fetch-timeout']) * 1000,
  });
  return { req, readyFd: o['ready-fd'] !== undefined ? Number(o['ready-fd']) : null };
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

/** fusermount -u (-z: lazily, detaching it even while in use); the tool's result. */
export function fusermountU(mnt: string, lazy: boolean): { ok: boolean; why: string } {
  const tool = fs.existsSync('/usr/bin/fusermount3') ? 'fusermount3' : 'fusermount';
  const r = spawnSync(tool, ['-u', ...(lazy ? ['-z'] : []), mnt], { encoding: 'utf8' });
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || '').trim() };
}
