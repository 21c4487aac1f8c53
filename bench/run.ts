// Running and timing commands. Async spawn (not spawnSync) keeps the event loop free, so an
// interrupt is handled at once and the cleanup in cleanup.ts can run. The wall time is taken with
// process.hrtime around the child's whole life: what a user waiting at a shell would see.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';

/** The checkout this file was built in (.bench-dist/run.js → ../). */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const HACKTREE = join(REPO_ROOT, 'bin', 'hacktree');

export interface Ran {
  seconds: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const start = process.hrtime.bigint();
    // Its own process group, so an interrupt can stop a whole pipeline (bash, tar, wc) by one id
    // before the mount it reads from is unmounted.
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stop = onCleanup(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { stop.forget(); reject(e); });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      stop.forget();
      resolve({ seconds, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Runs a command that must succeed; returns what it printed and how long it took. */
export async function must(cmd: string, args: string[]): Promise<Ran> {
  const r = await run(cmd, args);
  if (r.code !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' / ');
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${tail}`);
  }
  return r;
}

/** A shell pipeline that must succeed; pipefail so a failing `tar` is not hidden by `wc`. */
export function sh(script: string): Promise<Ran> {
  return must('bash', ['-o', 'pipefail', '-c', script]);
}

export const hacktree = (args: string[]): Promise<Ran> => must(HACKTREE, args);

/** Quotes a path for sh(). */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function have(tool: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${q(tool)}`], { stdio: 'ignore' }).status === 0;
}

/** Flushes dirty pages, so the writeback of one step is not billed to the next one. */
export function syncDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

/** Empties the page, dentry and inode caches: the "cold" in a metric's description. Needs root. */
export function dropCaches(): void {
  syncDisks();
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}
