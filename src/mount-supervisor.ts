// A mount's supervisor: the parent of its daemon, so that users are not stranded
// when the daemon dies (kill -9, a crash). It notices the death at once (the child
// exits), records it, detaches the dead mount lazily (so it no longer answers
// ENOTCONN to new lookups) and mounts the same request again with a fresh daemon.
// It knows nothing of what the daemon serves (a commit or a root, either core):
// it restarts the same daemon command line. It imports only what starting and
// watching a process needs: the first daemon is started before anything else.
//
// A daemon that leaves by itself (exit 0: unmounted, SIGTERM) ends the supervision;
// so does `hacktree umount`, which signals the supervisor too. A daemon that keeps
// crashing (MAX_CRASHES deaths other than SIGKILL within CRASH_WINDOW_MS) is not
// started again: the mount is detached and the log says why.
import fs from 'node:fs';
import { resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fusermountU, startDaemon, type MountRequest } from './mount-process.js';
import { readState, supervisorPath, writeSupervisor, type DaemonDeath, type SupervisorState } from './mount-state.js';
import { HACKTREE_FSTYPE, readMountsSync } from './fuse/mountinfo.js';

const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;

const isMounted = (mnt: string): boolean => readMountsSync().some((m) => m.mountpoint === mnt && m.fstype === HACKTREE_FSTYPE);

/**
 * Runs the supervisor in this process (supervisor-main.ts): starts the daemon, tells
 * `readyFd` whether the first mount came up, then watches it until the supervision ends.
 */
export async function superviseMount(req: MountRequest, readyFd: number | null): Promise<never> {
  const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} hacktree supervisor ${req.mountpoint}: ${msg}\n`); };
  const tell = (line: string): void => {
    if (readyFd === null) return;
    try { fs.writeSync(readyFd, line); fs.closeSync(readyFd); } catch { /* parent gone */ }
    readyFd = null;
  };
  const mnt = resolve(req.mountpoint);
  const state: SupervisorState = { pid: process.pid, deaths: [] };
  let child: ChildProcess | null = null;
  let stopping = false;
  function end(code: number): never {
    fs.rmSync(supervisorPath(mnt), { force: true });
    process.exit(code);
  }
  process.on('SIGTERM', () => {
    stopping = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); else end(0);
  });
  process.on('SIGINT', () => process.emit('SIGTERM'));
  process.on('SIGHUP', () => process.emit('SIGTERM'));

  /** Starts a daemon; resolves to its exit once it has served, or to the error that kept it from mounting. */
  const serveOnce = async (again: boolean): Promise<{ exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } | { error: string }> => {
    // Between the dead mount's going and the new one, a write by path lands in the bare mountpoint
    // directory: mount over it rather than leave everyone without the mount.
    // The commit the dead daemon served last: a reload (an upgrade under the mount) may have moved it.
    const d = startDaemon(again ? { ...req, commit: readState(mnt)?.commit ?? req.commit, options: [...req.options, 'nonempty'] } : req, mnt, { supervise: false, detached: false });
    child = d.child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => d.child.on('exit', (code, signal) => res({ code, signal })));
    const answer = await d.answer;
    if (!answer.startsWith('ready')) return { error: answer.replace(/^error: /, '').trim() };
    return { exited };
  };

  const first = await serveOnce(false);
  if ('error' in first) { tell(`error: ${first.error}\n`); end(1); }
  writeSupervisor(mnt, state);
  tell('ready\n');
  let exited = first.exited;
  for (;;) {
    const { code, signal } = await exited;
    const pid = child!.pid!;
    child = null;
    if (stopping || (code === 0 && signal === null)) {
      // The daemon left on purpose; a mount it could not take down would answer ENOTCONN.
      if (isMounted(mnt)) fusermountU(mnt, true);
      end(0);
    }
    const death: DaemonDeath = { at: new Date().toISOString(), pid, how: signal ? `killed by ${signal}` : `exited with code ${code}` };
    state.deaths.push(death);
    log(`daemon ${pid} ${death.how}`);
    // A kill from outside (an admin, the OOM killer) says nothing of the next daemon; crashes in a row do.
    const crashes = state.deaths.filter((x) => x.how !== 'killed by SIGKILL' && Date.parse(x.at) > Date.now() - CRASH_WINDOW_MS).length;
    const giveUp = !isMounted(mnt) ? 'unmounted meanwhile' : crashes >= MAX_CRASHES ? `${crashes} crashes within ${CRASH_WINDOW_MS / 1000} s` : null;
    if (giveUp) {
      death.notRemounted = giveUp;
      writeSupervisor(mnt, state);
      log(`not mounting again: ${giveUp}`);
      if (isMounted(mnt)) fusermountU(mnt, true);
      end(1);
    }
    // Lazily: processes with files open in the dead mount keep them (they get ENOTCONN), everyone else gets the new one.
    const u = fusermountU(mnt, true);
    if (!u.ok && isMounted(mnt)) log(`could not detach the dead mount: ${u.why}`);
    const again = await serveOnce(true);
    if ('error' in again) {
      death.notRemounted = again.error;
      writeSupervisor(mnt, state);
      log(`could not mount again: ${again.error}`);
      end(1);
    }
    death.remounted = new Date().toISOString();
    death.newPid = child!.pid!;
    writeSupervisor(mnt, state);
    log(`mounted again by daemon ${death.newPid}`);
    if (stopping) child!.kill('SIGTERM');
    exited = again.exited;
  }
}
