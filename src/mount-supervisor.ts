// A mount's supervisor: the parent of its daemon, so that users are not stranded
// when the daemon dies (kill -9, a crash). It notices the death at once (the child
// exits), records it, detaches the dead mount lazily (so it no longer answers
// ENOTCONN to new lookups) and mounts the same request again with a fresh daemon.
// It knows nothing of what the daemon serves (a commit or a root, either core):
// it restarts the same daemon command line. It imports only what starting and
// watching a process needs. Its first daemon is started beside it (startSupervised in
// mount-process.ts) and tells the command itself whether the mount came up; the supervisor
// tells the command that it watches that daemon, and starts any later one itself.
//
// A daemon that leaves by itself (exit 0: unmounted, SIGTERM) ends the supervision;
// so does `hacktree umount`, which signals the supervisor too. A daemon that keeps
// crashing (MAX_CRASHES deaths other than SIGKILL within CRASH_WINDOW_MS) is not
// started again: the mount is detached and the log says why.
import fs from 'node:fs';
import { resolve } from 'node:path';
import { fusermountU, startDaemon, type MountRequest } from './mount-process.js';
import { adoptChild, spawnedChild, type ChildExit, type WatchedChild } from './watched-child.js';
import { readState, supervisorPath, writeSupervisor, type DaemonDeath, type SupervisorState } from './mount-state.js';
import { HACKTREE_FSTYPE, readMountsSync } from './fuse/mountinfo.js';

const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;

const isMounted = (mnt: string): boolean => readMountsSync().some((m) => m.mountpoint === mnt && m.fstype === HACKTREE_FSTYPE);

/**
 * Runs the supervisor in this process (supervisor-main.ts): watches `firstDaemon` (its child,
 * started beside it), tells `readyFd` that it does, and mounts again whenever a daemon that
 * served dies, until the supervision ends.
 */
export async function superviseMount(req: MountRequest, readyFd: number | null, firstDaemon: number): Promise<never> {
  const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} hacktree supervisor ${req.mountpoint}: ${msg}\n`); };
  const mnt = resolve(req.mountpoint);
  const state: SupervisorState = { pid: process.pid, deaths: [] };
  let child: WatchedChild | null = null;
  let stopping = false;
  function end(code: number): never {
    fs.rmSync(supervisorPath(mnt), { force: true });
    process.exit(code);
  }
  process.on('SIGTERM', () => {
    stopping = true;
    if (child?.running()) child.kill('SIGTERM'); else end(0);
  });
  process.on('SIGINT', () => process.emit('SIGTERM'));
  process.on('SIGHUP', () => process.emit('SIGTERM'));

  /** Starts a daemon again; resolves to its exit once it has served, or to the error that kept it from mounting. */
  const serveAgain = async (): Promise<{ exited: Promise<ChildExit> } | { error: string }> => {
    // Between the dead mount's going and the new one, a write by path lands in the bare mountpoint
    // directory: mount over it rather than leave everyone without the mount.
    // The commit the dead daemon served last: a reload (an upgrade under the mount) may have moved
    // it; and a branch may have moved since the first daemon resolved REV (req.unresolved).
    const st = readState(mnt);
    const d = startDaemon({ ...req, ...(st ? { commit: st.commit, unresolved: false } : {}), options: [...req.options, 'nonempty'] }, mnt, { detached: false });
    child = spawnedChild(d.child);
    const { exited } = child;
    const answer = await d.answer;
    if (!answer.ready) return { error: answer.message };
    return { exited };
  };

  child = adoptChild(firstDaemon);
  writeSupervisor(mnt, state);
  if (readyFd !== null) {
    try { fs.writeSync(readyFd, 'watching\n'); fs.closeSync(readyFd); } catch { /* the command is gone */ }
  }
  let exited = child.exited;
  for (;;) {
    const { code, signal } = await exited;
    const pid = child!.pid;
    child = null;
    if (stopping || (code === 0 && signal === null)) {
      // The daemon left on purpose; a mount it could not take down would answer ENOTCONN.
      if (isMounted(mnt)) fusermountU(mnt, true);
      end(0);
    }
    // A first daemon that never served (it writes its state before it says ready) has told the
    // command why, and its log says it too: there is nothing to mount again.
    if (pid === firstDaemon && readState(mnt)?.pid !== firstDaemon) {
      log(`daemon ${pid} ${signal ? `killed by ${signal}` : `exited with code ${code}`} before the mount was ready`);
      end(1);
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
    const again = await serveAgain();
    if ('error' in again) {
      death.notRemounted = again.error;
      writeSupervisor(mnt, state);
      log(`could not mount again: ${again.error}`);
      end(1);
    }
    death.remounted = new Date().toISOString();
    death.newPid = child!.pid;
    writeSupervisor(mnt, state);
    log(`mounted again by daemon ${death.newPid}`);
    if (stopping) child!.kill('SIGTERM');
    exited = again.exited;
  }
}
