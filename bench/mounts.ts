// FUSE mounts for the benchmarks: hacktree's own and squashfuse's. A mount is "up" when the kernel
// lists it in /proc/mounts; we poll that file rather than stat the mount point, so nothing in this
// process ever touches the mount itself. Every mount is registered for cleanup and, on unmount,
// its server is waited for, so the next cold measurement does not share the CPU with a dying daemon.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { onCleanup } from './cleanup.js';
import { HACKTREE } from './run.js';

/** Mount points, with /proc/mounts' octal escapes (\040 for a space) decoded. */
export function mountPoints(): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').filter(Boolean)
    .map((l) => l.split(' ')[1]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export const isMounted = (dir: string): boolean => mountPoints().includes(dir);

export interface Mount {
  dir: string;
  /** Seconds from spawning the mount command to the kernel listing the mount. */
  seconds: number;
  /** Pids of processes whose command line names the mount point: the FUSE server. */
  serverPids(): number[];
  unmount(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns `cmd` and resolves once `dir` is mounted. Works whether the command daemonizes (exits 0
 * with the server left behind) or serves in the foreground (keeps running). Its stderr goes to
 * `log`, read back if it fails.
 */
async function mountWith(cmd: string, args: string[], dir: string, log: string, unmountCmd: string[]): Promise<Mount> {
  const fd = openSync(log, 'w');
  const start = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.on('error', () => { exited = -1; });
  child.unref();
  const m: Mount = {
    dir,
    seconds: 0,
    serverPids: () => serverPids(dir),
    unmount: onCleanup(() => unmount(dir, unmountCmd)).now,
  };
  for (const deadline = Date.now() + 60_000; !isMounted(dir); await sleep(2)) {
    const failed = exited !== undefined && exited !== 0;
    if (failed || Date.now() > deadline) {
      m.unmount();
      const why = readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' / ');
      throw new Error(`${cmd} ${args.join(' ')}: ${failed ? `exited ${exited}` : 'not mounted after 60 s'}: ${why}`);
    }
  }
  m.seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return m;
}

/** `hacktree --repo REPO mount [-o OPTS] REV DIR`; unmounted with `hacktree umount DIR`. */
export function mountHacktree(repo: string, rev: string, dir: string, options: string[] = []): Promise<Mount> {
  const o = options.length > 0 ? ['-o', options.join(',')] : [];
  return mountWith(HACKTREE, ['--repo', repo, 'mount', ...o, rev, dir], dir, `${dir}.log`, [HACKTREE, 'umount', dir]);
}

/** `hacktree --sysroot S root mount NAME DIR`: a root with its writable layer. */
export function mountHacktreeRoot(sysroot: string, name: string, dir: string, options: string[] = []): Promise<Mount> {
  return mountWith(HACKTREE, ['--sysroot', sysroot, 'root', 'mount', ...options.flatMap((o) => ['-o', o]), name, dir], dir, `${dir}.log`, [HACKTREE, '--sysroot', sysroot, 'root', 'umount', name]);
}

/** fuse-overlayfs over a checkout: the writable-overlay peer. */
export function mountFuseOverlayfs(lower: string, upper: string, work: string, dir: string): Promise<Mount> {
  return mountWith('fuse-overlayfs', ['-o', `lowerdir=${lower},upperdir=${upper},workdir=${work},allow_other`, dir], dir, `${dir}.log`, ['fusermount', '-u', dir]);
}

/** Kernel overlayfs over a checkout, on the same disk: what a writable overlay costs without FUSE. */
export function mountKernelOverlay(lower: string, upper: string, work: string, dir: string): Promise<Mount> {
  return mountWith('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, dir], dir, `${dir}.log`, ['umount', dir]);
}

/** bench/passthrough/ptfs.c over DIR, in the foreground; its log's last line says whether reads passed through. */
export function mountPtfs(ptfs: string, source: string, dir: string, passthrough: boolean): Promise<Mount> {
  return mountWith(ptfs, [...(passthrough ? ['-o', 'passthrough'] : []), source, dir], dir, `${dir}.log`, ['fusermount3', '-u', dir]);
}

export function mountSquashfuse(image: string, dir: string): Promise<Mount> {
  return mountWith('squashfuse', [image, dir], dir, `${dir}.log`, ['fusermount', '-u', dir]);
}

function serverPids(dir: string): number[] {
  const re = dir.replace(/[.[\]()*+?^$|\\{}]/g, '\\$&');
  const r = spawnSync('pgrep', ['-f', `${re}( |$)`], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid);
}

/** Peak resident set (VmHWM) in MB, the largest over `pids` (a wrapper and its daemon, say). */
export function peakRssMB(pids: number[]): number | null {
  let best: number | null = null;
  for (const pid of pids) {
    try {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb !== undefined) best = Math.max(best ?? 0, Number(kb) / 1024);
    } catch { /* exited meanwhile */ }
  }
  return best;
}

/**
 * The mount's own unmount command, then `fusermount -u`, then a lazy `fusermount -uz`, so that
 * whatever happens no mount is left behind. Then waits for the server to exit (SIGTERM by pid
 * after 10 s: it is a process this run started).
 */
function unmount(dir: string, primary: string[]): void {
  const pids = serverPids(dir);
  const attempts = [primary, ['fusermount', '-u', dir], ['fusermount', '-uz', dir]];
  for (const [cmd, ...args] of attempts) {
    if (!isMounted(dir)) break;
    const r = spawnSync(cmd!, args, { encoding: 'utf8' });
    if (r.status !== 0) process.stderr.write(`bench: ${cmd} ${args.join(' ')} failed: ${(r.stderr ?? '').trim() || r.error?.message}\n`);
  }
  if (isMounted(dir)) throw new Error(`could not unmount ${dir}`);
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) spawnSync('sleep', ['0.02']);
  for (const pid of pids.filter(alive)) {
    process.stderr.write(`bench: server ${pid} of ${dir} still running 10 s after unmount; SIGTERM\n`);
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); its state in /proc says it is done.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs `use` with a mount, and unmounts it whatever happens. */
export async function withMount<T>(mounting: Promise<Mount>, use: (m: Mount) => Promise<T>): Promise<T> {
  const m = await mounting;
  try {
    return await use(m);
  } finally {
    m.unmount();
  }
}
