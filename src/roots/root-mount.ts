// Mounting a root for a while (enter, post-upgrade checks): mount it unless it
// is mounted already, and take down only what we mounted.
import { join } from 'node:path';
import fs from 'node:fs';
import { findRootMount, mountInBackground, unmount } from '../mount.js';
import type { Roots } from './roots.js';

export interface HeldMount { mountpoint: string; release(): Promise<void> }

/** `daemonArgv` starts the daemon: [bin, ...global options]; the root mount arguments are appended. */
export async function holdRootMount(roots: Roots, repoPath: string, name: string, daemonArgv: string[], mountpoint?: string): Promise<HeldMount> {
  const existing = findRootMount(roots.sysroot, name);
  if (existing) return { mountpoint: existing.mountpoint, release: async () => {} };
  const mnt = mountpoint ?? roots.defaultMountpoint(name);
  fs.mkdirSync(mnt, { recursive: true });
  const rec = roots.get(name);
  await mountInBackground(
    { repoPath, rev: rec.commit, root: { name, sysroot: roots.sysroot }, mountpoint: mnt, options: [] },
    [...daemonArgv, '--repo', repoPath, '--sysroot', roots.sysroot, 'root', 'mount', '-f', '--ready-fd', '3', name, mnt],
  );
  return { mountpoint: mnt, release: () => unmount(mnt) };
}

export const scratchMountpoint = (roots: Roots, name: string, what: string): string => join(roots.rootDir(name), `mnt-${what}`);
