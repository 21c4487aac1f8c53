// Mounting in tests: the daemon is always a child process (hacktree mount), and
// every mount is taken down again, also when the test fails.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { htOk } from './cli.js';
import { logPath } from '../../src/mount-state.js';

const live = new Set<string>();

export function requireFuse(): void {
  if (!fs.existsSync('/dev/fuse')) throw new Error('this test mounts FUSE file systems: /dev/fuse is missing');
  const r = spawnSync('sh', ['-c', 'command -v fusermount || command -v fusermount3']);
  if (r.status !== 0) throw new Error('this test needs fusermount (Debian package fuse3); .ci/run installs it');
}

export function mountRev(repo: string, rev: string, mnt: string, opts: string[] = []): void {
  fs.mkdirSync(mnt, { recursive: true });
  htOk(['--repo', repo, 'mount', ...opts.flatMap((o) => ['-o', o]), rev, mnt]);
  live.add(mnt);
}

export function isMounted(mnt: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === mnt);
}

/** Unmounts whatever way works; never throws. */
export function forceUnmount(mnt: string): void {
  if (!isMounted(mnt)) { live.delete(mnt); return; }
  const r = spawnSync('bin/hacktree', ['umount', mnt], { cwd: new URL('../..', import.meta.url).pathname, stdio: 'ignore' });
  if (r.status !== 0 || isMounted(mnt)) spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
  live.delete(mnt);
}

/** Unmounts every mount the helpers made, and `also` (mounts made another way, a root's say), if mounted. */
export function unmountAll(...also: string[]): void {
  for (const m of [...live, ...also]) forceUnmount(m);
}

/** A line of `hacktree mounts --json`. */
export interface ListedMount {
  mountpoint: string; pid: number; alive: boolean; root?: string;
  supervisor?: { pid: number; alive: boolean };
  deaths?: Array<{ at: string; pid: number; how: string; remounted?: string; newPid?: number; notRemounted?: string }>;
}

export function listedMount(mnt: string, globalArgs: string[] = []): ListedMount | undefined {
  return (JSON.parse(htOk([...globalArgs, 'mounts', '--json'])) as ListedMount[]).find((m) => m.mountpoint === mnt);
}

/**
 * Kills the daemon serving `mnt` with SIGKILL and waits (asynchronously) until its supervisor
 * has mounted it again with a fresh daemon; returns what `mounts --json` then says.
 */
export async function killDaemonAndWait(mnt: string, globalArgs: string[] = []): Promise<ListedMount> {
  const before = listedMount(mnt, globalArgs);
  if (!before?.alive) throw new Error(`no live daemon serves ${mnt}`);
  const deaths = before.deaths?.length ?? 0;
  process.kill(before.pid, 'SIGKILL');
  for (let i = 0; i < 300; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = listedMount(mnt, globalArgs);
    const d = now?.deaths?.[deaths];
    if (d?.notRemounted) throw new Error(`${mnt} was not mounted again: ${d.notRemounted}`);
    if (now?.alive && d?.remounted) return now;
  }
  throw new Error(`${mnt} was not mounted again within 30 s of killing daemon ${before.pid}`);
}

/**
 * What the daemon serving `mnt` logged as it last stopped: the ops that reached JS, and the
 * kernel's requests by opcode (src/mount-daemon.ts writes the line).
 */
export function stopCounts(mnt: string): { js: Record<string, number>; kernel: Record<string, number> } {
  const line = fs.readFileSync(logPath(mnt), 'utf8').trim().split('\n').filter((l) => l.includes(' stopping: ')).pop();
  if (line === undefined) throw new Error(`no stop line in ${logPath(mnt)}`);
  const parse = (part: string | undefined): Record<string, number> =>
    Object.fromEntries((part ?? '').split(' ').filter((kv) => kv.includes('=')).map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])]));
  return { js: parse(/ops: (.*?); content:/.exec(line)?.[1]), kernel: parse(/kernel requests: (.*)$/.exec(line)?.[1]) };
}
