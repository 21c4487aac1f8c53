// A root's mount: the request that mounts its commit with its layer, finding the
// mount again, and holding one for a while (enter, post-upgrade checks): mount it
// unless it is mounted already, and take down only what we mounted. Roots call
// mount; mount knows nothing of roots but the labels it records for them.
import { parseRemoteBranch } from '../store/remote/remote-branch.js';
import { isPartial } from '../store/layout.js';
import { join, resolve } from 'node:path';
import fs from 'node:fs';
import { listMounts, mountInBackground, requestReload, unmount, type MountRequest, type MountState } from '../mount.js';
import { readBooted } from '../mount-state.js';
import { HACKTREE_FSTYPE, readMountsSync } from '../fuse/mountinfo.js';
import type { RootRecord, Roots } from './roots.js';

/** The request that mounts `rec`'s commit (never re-resolved: the record names a checksum) with its layer. */
export function rootMountRequest(roots: Roots, repoPath: string, rec: RootRecord, mountpoint: string, options: string[] = []): MountRequest {
  return { repoPath, commit: rec.commit, rev: rec.rev, layer: { dir: roots.layerDir(rec.name), root: rec.name, sysroot: roots.sysroot }, mountpoint, options, ...lazyOf(repoPath, rec) };
}

/** A root made with --lazy runs a partial commit: its mount fetches what it reads from the remote of the branch it follows. */
function lazyOf(repoPath: string, rec: RootRecord): Pick<MountRequest, 'lazy'> {
  const remote = parseRemoteBranch(rec.branch ?? rec.rev)?.remote;
  if (!remote || !isPartial(repoPath, rec.commit)) return {};
  return { lazy: { remote, timeoutMs: LAZY_TIMEOUT_MS } };
}

/** How long a read of a lazy root waits for an object before it fails with EIO (as `mount --fetch-timeout`'s default). */
const LAZY_TIMEOUT_MS = 10_000;

/** A root's mount; `booted`: it is the root this system booted (see bootedMount). */
export type RootMountFound = MountState & { alive: boolean; booted?: boolean };

/** The mount of a root (a root is named within its sysroot), or undefined; by default only one whose daemon lives. */
export function findRootMount(sysroot: string, name: string, alive = true): RootMountFound | undefined {
  const sr = resolve(sysroot);
  return listMounts().find((m) => m.root === name && m.sysroot === sr && (!alive || m.alive)) ?? bootedMount(sysroot, name);
}

const sameDir = (a: string, b: string): boolean => {
  try {
    const x = fs.statSync(a), y = fs.statSync(b);
    return x.isDirectory() && x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
};

/**
 * Root `name` of `sysroot` when it is the root this system booted and its mount is here (on
 * /, mostly). Its daemon's record names the mountpoint and SYSROOT as they were in the
 * initramfs, where the daemon runs, so the boot helper's record says which root it is: its
 * SYSROOT as the booted system sees it (the same directory as `sysroot`), and the kernel's ID
 * of the mount, which a move keeps (and a stale record from an earlier boot does not find).
 */
export function bootedMount(sysroot: string, name: string): RootMountFound | undefined {
  const b = readBooted();
  if (!b || b.root !== name || !b.sysroot || !sameDir(b.sysroot, sysroot)) return undefined;
  const m = readMountsSync().find((e) => e.id === b.mountId && e.fstype === HACKTREE_FSTYPE);
  if (!m) return undefined;
  const colon = m.source.lastIndexOf(':');
  return { pid: 0, mountpoint: m.mountpoint, repo: m.source.slice(0, colon), commit: m.source.slice(colon + 1), rev: '', started: '', root: name, sysroot: resolve(sysroot), alive: true, booted: true };
}

export interface HeldMount { mountpoint: string; release(): Promise<void> }

export async function holdRootMount(roots: Roots, repoPath: string, name: string, mountpoint?: string): Promise<HeldMount> {
  const existing = findRootMount(roots.sysroot, name);
  if (existing) return { mountpoint: existing.mountpoint, release: async () => {} };
  const mnt = mountpoint ?? roots.defaultMountpoint(name);
  fs.mkdirSync(mnt, { recursive: true });
  await mountInBackground(rootMountRequest(roots, repoPath, roots.get(name), mnt));
  return { mountpoint: mnt, release: () => unmount(mnt) };
}

export const scratchMountpoint = (roots: Roots, name: string, what: string): string => join(roots.rootDir(name), `mnt-${what}`);

/**
 * Has the daemon serving root `name` take up its layer and commit again (after a layer reset,
 * an upgrade or a rollback done beneath it), and resolves once the kernel has forgotten all
 * that may have changed. False when the root is not mounted.
 */
export async function reloadRootMount(roots: Roots, name: string): Promise<boolean> {
  const m = findRootMount(roots.sysroot, name);
  if (!m) return false;
  await requestReload(m.mountpoint, roots.get(name).commit);
  return true;
}
