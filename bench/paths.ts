// Where the benchmarks put things, and removing them safely. Everything lives under the cache dir
// ($HACKTREE_BENCH_CACHE, else <checkout>/.bench-cache): on the disk the tree lives on, not on a
// tmpfs, so repos and mounts are measured on a real file system.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './run.js';
import { onCleanup } from './cleanup.js';
import { mountPoints } from './mounts.js';

export function cacheDir(): string {
  const dir = resolve(process.env.HACKTREE_BENCH_CACHE ?? join(REPO_ROOT, '.bench-cache'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

const tmpRoot = (): string => join(cacheDir(), 'tmp');

/**
 * rm -rf that never goes through a mount: whatever is still mounted below `path` (a FUSE mount
 * left by a crash, /proc in an interrupted debootstrap) is unmounted first, and if something
 * stays mounted the removal is refused rather than deleting through it.
 */
export function removeTree(path: string): void {
  const inside = (): string[] => mountPoints().filter((m) => m === path || m.startsWith(path + '/'));
  for (const m of inside().reverse()) {
    spawnSync('umount', [m], { stdio: 'ignore' });
    if (inside().includes(m)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
  const left = inside();
  if (left.length > 0) throw new Error(`not removing ${path}: still mounted: ${left.join(', ')}`);
  rmSync(path, { recursive: true, force: true });
}

export interface TempDir {
  path: string;
  remove(): void;
}

/** A fresh directory under <cache>/tmp, removed by remove() or on interrupt. */
export function tempDir(prefix: string): TempDir {
  mkdirSync(tmpRoot(), { recursive: true });
  // The pid in the name tells removeStaleTemps whose directory it is.
  const path = mkdtempSync(join(tmpRoot(), `${prefix}-${process.pid}-`));
  return { path, remove: onCleanup(() => removeTree(path)).now };
}

/** Removes what an earlier, killed run left in <cache>/tmp (not a concurrent run's dirs). */
export function removeStaleTemps(): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmpRoot());
  } catch {
    return;
  }
  for (const n of names) {
    const pid = /-(\d+)-[^-]*$/.exec(n)?.[1];
    if (pid !== undefined && existsSync(`/proc/${pid}`)) continue;
    removeTree(join(tmpRoot(), n));
  }
}
