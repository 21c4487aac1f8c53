// The processes of a background mount: the supervisor (supervisor-main.ts) and the daemon
// (daemon-main.ts), their command lines, and starting them. Both entries load this
// file before they do anything, so it imports nothing but node's own modules, the run
// directory's paths and the errors: a mount's start waits for each process to load it.
import fs from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { UsageError, type ErrorCode } from './errors.js';
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
  /**
   * `commit` is REV as the user typed it, not yet resolved: the daemon resolves it, once, and
   * makes every check of the command itself (bin/hacktree starts a plain mount's supervisor and
   * daemon without a node command of its own; see scripts/mount-start.sh).
   */
  unresolved?: boolean;
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
 * What follows node's path on the daemon's command line, and the only place it is built: this
 * process's node options, the entry, then requestArgv.
 */
export function daemonArgv(req: MountRequest, mnt: string): string[] {
  return [...process.execArgv, entryPath(DAEMON_MAIN), ...requestArgv(req, mnt, DAEMON_READY_FD)];
}

/**
 * The request as the daemon's and the supervisor's command lines give it (parseDaemonArgv reads
 * it back): the options of `hacktree mount -f`, the commit's checksum for REV and the rest of the
 * request in the hidden options. The supervisor takes the daemon's arguments and hands them on.
 */
function requestArgv(req: MountRequest, mnt: string, readyFd: number): string[] {
  return [
    '--repo', req.repoPath,
    '--ready-fd', String(readyFd),
    ...req.options.flatMap((x) => ['-o', x]),
    ...(req.rev && req.rev !== req.commit ? ['--label', req.rev] : []),
    ...(req.layer ? ['--layer', req.layer.dir, '--layer-root', req.layer.root, '--layer-sysroot', req.layer.sysroot, ...(req.layer.discard ? ['--layer-discard'] : [])] : []),
    ...(req.lazy ? ['--lazy-remote', req.lazy.remote, '--fetch-timeout', String(req.lazy.timeoutMs / 1000)] : []),
    ...(req.unresolved ? ['--unresolved'] : []),
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

/**
 * The request and the ready fd of a daemon's or supervisor's command line (requestArgv), and
 * the supervisor's first daemon, started beside it (startSupervised).
 */
export function parseDaemonArgv(argv: string[]): { req: MountRequest; readyFd: number | null; firstDaemon: number | null } {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'repo': { type: 'string' }, 'ready-fd': { type: 'string' }, 'options': { type: 'string', short: 'o', multiple: true, default: [] },
      'label': { type: 'string' }, 'layer': { type: 'string' }, 'layer-root': { type: 'string' }, 'layer-sysroot': { type: 'string' }, 'layer-discard': { type: 'boolean' },
      'lazy-remote': { type: 'string' }, 'fetch-timeout': { type: 'string', default: '10' }, 'first-daemon': { type: 'string' },
      'unresolved': { type: 'boolean' },
    },
  });
  const [commit, mountpoint] = positionals;
  const req = mountCommandRequest(o.repo!, commit!, commit!, mountpoint!, o.options, {
    label: o.label, layer: o.layer, layerRoot: o['layer-root'], layerSysroot: o['layer-sysroot'], layerDiscard: o['layer-discard'], lazyRemote: o['lazy-remote'],
    fetchTimeoutMs: Number(o['fetch-timeout']) * 1000,
  });
  if (o.unresolved) req.unresolved = true;
  return { req, readyFd: o['ready-fd'] !== undefined ? Number(o['ready-fd']) : null, firstDaemon: o['first-daemon'] !== undefined ? Number(o['first-daemon']) : null };
}

/**
 * What a daemon tells on its ready fd, in one line: `ready COMMIT` (the commit it serves, REV
 * resolved); `refused CODE: MESSAGE`, a check the command makes failed (a missing mountpoint, an
 * unknown REV: the command reports it as its own error); `error: MESSAGE`, the mount failed.
 * bin/hacktree reads the same lines (scripts/mount-start.sh).
 */
export type DaemonAnswer = { ready: true; commit: Checksum } | { ready: false; message: string; refused?: ErrorCode };

export function answerLine(a: DaemonAnswer): string {
  if (a.ready) return `ready ${a.commit}\n`;
  // One line, whatever the message holds: the reader takes the first.
  const message = a.message.replace(/\s*\n\s*/g, ' ');
  return a.refused ? `refused ${a.refused}: ${message}\n` : `error: ${message}\n`;
}

/** A daemon's answer line back ('' when it closed its fd without one). */
export function parseAnswer(line: string): DaemonAnswer {
  const text = line.split('\n')[0]!;
  let m = /^ready (\S+)/.exec(text);
  if (m) return { ready: true, commit: m[1]! };
  m = /^refused ([A-Z_]+): (.*)$/.exec(text);
  if (m) return { ready: false, refused: m[1] as ErrorCode, message: m[2]! };
  if (text.startsWith('error: ')) return { ready: false, message: text.slice('error: '.length).trim() };
  return { ready: false, message: 'the mount daemon exited before the mount was ready' };
}

/** The first line `child` writes on its pipe at `fd`, or '' if it closes it without one. */
function firstLine(child: ChildProcess, fd: number): Promise<string> {
  const pipe = child.stdio[fd] as NodeJS.ReadableStream & { destroy(): void };
  return new Promise<string>((res) => {
    let buf = '';
    pipe.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('\n')) res(buf); });
    pipe.on('end', () => res(buf));
    pipe.on('error', () => res(buf));
  }).finally(() => pipe.destroy());
}

/** Object reads and xattr lookups wait in libuv's pool: give a cold disk more of them in flight. */
const childEnv = (): NodeJS.ProcessEnv => ({ UV_THREADPOOL_SIZE: '16', ...process.env });

/**
 * Starts the daemon as a child writing to the mount's log; `answer` resolves to what it says on
 * its ready pipe.
 */
export function startDaemon(req: MountRequest, mnt: string, o: { detached: boolean }): { child: ChildProcess; answer: Promise<DaemonAnswer> } {
  fs.mkdirSync(runDir(), { recursive: true });
  const logFd = fs.openSync(logPath(mnt), 'a');
  const child = spawn(process.execPath, daemonArgv(req, mnt), {
    detached: o.detached,
    env: childEnv(),
    // The pipe is fd DAEMON_READY_FD in the child.
    stdio: ['ignore', logFd, logFd, 'pipe'],
  });
  fs.closeSync(logFd);
  const answer = firstLine(child, DAEMON_READY_FD).then(parseAnswer);
  return { child, answer };
}

/** The supervisor's ready fd when it is started beside its first daemon. */
const SUPERVISOR_READY_FD = 4;
const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts a supervised mount: the supervisor and its first daemon at once, not one after the
 * other (a node start each, ~40 ms of CPU on a quiet machine and several times that on a busy
 * one). The daemon must be the supervisor's child, so that the supervisor learns how it died: a
 * shell forks the daemon and then execs the supervisor in its own place, which makes it the
 * daemon's parent (it reaps that one itself: libuv waits only for children it spawned). The
 * daemon tells this process on fd 3 whether the mount came up, the supervisor on fd 4 that it
 * watches the daemon; `answer` is the daemon's once both have, else why not.
 */
export function startSupervised(req: MountRequest, mnt: string): { child: ChildProcess; answer: Promise<DaemonAnswer> } {
  fs.mkdirSync(runDir(), { recursive: true });
  const logFd = fs.openSync(logPath(mnt), 'a');
  const node = [process.execPath, ...process.execArgv].map(shQuote).join(' ');
  const daemon = [entryPath(DAEMON_MAIN), ...requestArgv(req, mnt, DAEMON_READY_FD)].map(shQuote).join(' ');
  const supervisor = requestArgv(req, mnt, SUPERVISOR_READY_FD).map(shQuote).join(' ');
  const script = `${node} ${daemon} ${SUPERVISOR_READY_FD}>&- & exec ${node} ${shQuote(entryPath(SUPERVISOR_MAIN))} --first-daemon "$!" ${supervisor} ${DAEMON_READY_FD}>&-`;
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    env: childEnv(),
    stdio: ['ignore', logFd, logFd, 'pipe', 'pipe'],
  });
  fs.closeSync(logFd);
  const daemonSaid = firstLine(child, DAEMON_READY_FD);
  const supervisorSaid = firstLine(child, SUPERVISOR_READY_FD);
  const answer = (async (): Promise<DaemonAnswer> => {
    const d = parseAnswer(await daemonSaid);
    if (!d.ready) return d;
    if ((await supervisorSaid).startsWith('watching')) return d;
    // Served, but watched by no one: not a mount this command may report as made.
    fusermountU(mnt, true);
    return { ready: false, message: 'the mount\'s supervisor exited before it watched the daemon' };
  })();
  return { child, answer };
}

/** fusermount -u (-z: lazily, detaching it even while in use); the tool's result. */
export function fusermountU(mnt: string, lazy: boolean): { ok: boolean; why: string } {
  const tool = fs.existsSync('/usr/bin/fusermount3') ? 'fusermount3' : 'fusermount';
  const r = spawnSync(tool, ['-u', ...(lazy ? ['-z'] : []), mnt], { encoding: 'utf8' });
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || '').trim() };
}
