// Runs bin/hacktree (the built CLI) the way users and scripts do.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const HACKTREE = join(ROOT, 'bin', 'hacktree');

export interface Run { code: number; stdout: string; stderr: string }

export function ht(args: string[], opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(HACKTREE, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout as string, stderr: r.stderr as string };
}

/** Runs and insists on success, returning stdout. */
export function htOk(args: string[], opts: SpawnSyncOptions = {}): string {
  const r = ht(args, opts);
  if (r.code !== 0) throw new Error(`hacktree ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export function htAsync(args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(HACKTREE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env && { ...process.env, ...env } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

/** Runs a system tool and insists on success. */
export function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}): install it (see .ci/run)`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout as string;
}

export function requireTool(name: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`this test needs '${name}' (Debian package ${pkg}); .ci/run installs it`);
}

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) throw new Error(`this test must run as root: ${why}`);
}
