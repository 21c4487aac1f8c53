// The daemons a mount's supervisor watches, as one kind of thing: one it spawned (libuv reaps
// it), or its first daemon, which it did not spawn: forked by the shell that then became the
// supervisor (startSupervised in mount-process.ts). libuv waits only for the children it
// spawned, so that one is watched by hand: every SIGCHLD, a look at whether it has ended (a
// zombie in /proc), and then waitpid through the FUSE addon, which takes its exit status and
// reaps it. The addon is loaded only then: the supervisor's start waits for none of it.
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { nativeAddon } from './native-addon.js';

export interface ChildExit { code: number | null; signal: NodeJS.Signals | null }

/** A child, spawned or adopted, as the supervisor watches it. */
export interface WatchedChild {
  readonly pid: number;
  /** Whether it has not ended yet (as far as this process has seen). */
  running(): boolean;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<ChildExit>;
}

interface ReapAddon { reap(pid: number): { code: number | null; signal: number | null } | null | number }

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

/** Whether `pid` has ended and waits to be reaped (or is gone altogether). */
function ended(pid: number): boolean {
  let stat: string;
  try { stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return true; }
  // The state follows the command name, which is in parentheses and may hold anything.
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Watches `child`, spawned by this process. */
export function spawnedChild(child: ChildProcess): WatchedChild {
  return {
    pid: child.pid!,
    running: () => child.exitCode === null && child.signalCode === null,
    kill: (signal) => { child.kill(signal); },
    exited: new Promise<ChildExit>((res) => child.on('exit', (code, signal) => res({ code, signal }))),
  };
}

/** Watches `pid`, a child of this process that libuv did not spawn. */
export function adoptChild(pid: number): WatchedChild {
  let done = false;
  // Nothing else of a child libuv does not know keeps the event loop alive while it runs.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const exited = new Promise<ChildExit>((res) => {
    const check = (): void => {
      if (done || !ended(pid)) return;
      const r = nativeAddon<ReapAddon>().reap(pid);
      if (r === null) return;
      done = true;
      process.off('SIGCHLD', check);
      clearInterval(keepAlive);
      // A negative errno: not ours to wait for (it cannot be, unless someone reaped it): how it ended is unknown.
      res(typeof r === 'number' ? { code: null, signal: null } : { code: r.code, signal: r.signal === null ? null : SIGNAL_NAMES.get(r.signal) ?? null });
    };
    process.on('SIGCHLD', check);
    // It may have ended before this process listened for SIGCHLD.
    check();
  });
  return {
    pid,
    running: () => !done,
    // Never once reaped: the pid may be another process's by then.
    kill: (signal) => { if (!done) try { process.kill(pid, signal); } catch { /* gone meanwhile */ } },
    exited,
  };
}
