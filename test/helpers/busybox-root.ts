// A sysroot with one root, 'r', on a busybox commit, mounted: what the tests of the
// writable layer against a disk file system start from.
import fs from 'node:fs';
import { join } from 'node:path';
import { htOk, sh } from './cli.js';
import { scratch } from './tmp.js';

/** The directory the answers of a disk are taken from must be on one: ext4 or tmpfs. */
export function requireDiskReference(dir: string): void {
  const fsType = sh('stat', ['-f', '-c', '%T', dir]).trim();
  if (!['ext2/ext3', 'tmpfs'].includes(fsType)) throw new Error(`the reference directory ${dir} must be on ext4 or tmpfs, not ${fsType} (set HACKTREE_TEST_TMP)`);
}

/**
 * Commits `bb` (made by make-busybox-root.sh and filled by the caller) to branch bb of a new
 * sysroot `sys`, makes root r on it (`root create` takes `createArgs` too) and mounts it at `mnt`.
 */
export function mountBusyboxRoot(bb: string, sys: string, mnt: string, createArgs: string[] = []): void {
  const H = (args: string[]): string => htOk(['--sysroot', sys, ...args]);
  H(['init']);
  H(['commit', '-b', 'bb', bb]);
  H(['root', 'create', 'r', 'bb', ...createArgs]);
  fs.mkdirSync(mnt);
  H(['root', 'mount', 'r', mnt]);
}

/** The places a disk-comparison test uses, in a new scratch directory: the root's tree, sysroot, mountpoint and the disk reference. */
export function comparisonDirs(prefix: string): { s: ReturnType<typeof scratch>; bb: string; sys: string; mnt: string; ref: string } {
  const s = scratch(prefix);
  return { s, bb: join(s.dir, 'bb'), sys: join(s.dir, 'sys'), mnt: join(s.dir, 'mnt'), ref: join(s.dir, 'ref') };
}
