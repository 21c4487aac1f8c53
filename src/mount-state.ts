// What a mount leaves in the run directory for others to find: the daemon's state
// (pid, commit, layer), its log, and its supervisor's record of what happened to
// daemons that died. Files are keyed by the mountpoint.
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Checksum } from './store/checksum.js';
import type { LazyFetchStats } from './store/remote/lazy-fetcher.js';

const runBase = (): string => process.env.HACKTREE_RUN_DIR
  ?? (process.getuid?.() === 0 ? '/run/hacktree' : join(process.env.XDG_RUNTIME_DIR ?? os.tmpdir(), `hacktree-${process.getuid?.()}`));

/** Where a mount's pid and log live: tmpfs, gone at reboot like the mount itself. */
export function runDir(): string {
  return join(runBase(), 'mounts');
}

/**
 * What the boot helper (scripts/hacktree-boot) wrote of the root this system booted, in
 * /run/hacktree/booted: its name, SYSROOT as the booted system sees it ('' when the root has
 * no /sysroot), the commit it booted, and the kernel's ID of its mount (which stays with the
 * mount when it is moved onto /).
 */
export interface BootedRoot { root: string; sysroot: string; commit: string; mountId: number }

export function readBooted(): BootedRoot | null {
  let text: string;
  try { text = fs.readFileSync(join(runBase(), 'booted'), 'utf8'); } catch { return null; }
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) { const i = line.indexOf('='); if (i > 0) v[line.slice(0, i)] = line.slice(i + 1); }
  if (!v.HACKTREE_ROOT || !v.HACKTREE_MOUNT_ID) return null;
  return { root: v.HACKTREE_ROOT, sysroot: v.HACKTREE_SYSROOT ?? '', commit: v.HACKTREE_COMMIT ?? '', mountId: Number(v.HACKTREE_MOUNT_ID) };
}

const keyOf = (mnt: string): string => createHash('sha256').update(mnt).digest('hex').slice(0, 16);

/** `root` and `sysroot` are the labels of a layer's owner (see MountRequest.layer); `layer` its directory. */
export interface MountState {
  pid: number; mountpoint: string; repo: string; commit: Checksum; rev: string; started: string; layer?: string; root?: string; sysroot?: string;
  /** A lazy mount's remote and what it has fetched so far (rewritten as it changes). */
  lazy?: { remote: string } & LazyFetchStats;
  /** A layer's daemon: how many times it has taken up its layer and commit again (requestReload). */
  reloads?: number;
}

/** One daemon that died under its supervisor, and what the supervisor did about it. */
export interface DaemonDeath {
  /** When the supervisor saw it die (ISO). */
  at: string;
  pid: number;
  /** 'killed by SIGKILL', 'exited with code 1'. */
  how: string;
  /** When a fresh daemon served the mountpoint again (ISO), and its pid. */
  remounted?: string;
  newPid?: number;
  /** Why it was not remounted. */
  notRemounted?: string;
}

/** A supervisor's record (see mount-supervisor.ts): its pid and the deaths it has seen. */
export interface SupervisorState { pid: number; deaths: DaemonDeath[] }

export function statePath(mnt: string): string { return join(runDir(), `${keyOf(mnt)}.json`); }
export function logPath(mnt: string): string { return join(runDir(), `${keyOf(mnt)}.log`); }
export function supervisorPath(mnt: string): string { return join(runDir(), `${keyOf(mnt)}.supervisor.json`); }
/** A request to the daemon to take its layer up again (see requestReload in mount.ts). */
export function reloadPath(mnt: string): string { return join(runDir(), `${keyOf(mnt)}.reload`); }

export function readState(mnt: string): MountState | null {
  try { return JSON.parse(fs.readFileSync(statePath(mnt), 'utf8')) as MountState; } catch { return null; }
}

export function readSupervisor(mnt: string): SupervisorState | null {
  try { return JSON.parse(fs.readFileSync(supervisorPath(mnt), 'utf8')) as SupervisorState; } catch { return null; }
}

/** Written whole by rename: a reader never sees half a record. */
export function writeSupervisor(mnt: string, s: SupervisorState): void {
  const p = supervisorPath(mnt);
  fs.writeFileSync(`${p}.tmp`, JSON.stringify(s), { mode: 0o644 });
  fs.renameSync(`${p}.tmp`, p);
}

/** A daemon that was killed may linger as a zombie until it is reaped: that counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
