// `enter --ephemeral ROOT|REV`: a mount of a root, or of a commit, over a throwaway layer
// where every path takes writes. A root's throwaway layer starts as a copy of the root's
// own layer (its accounts, its /var), which is only read: whatever runs there leaves the
// root as it was. The layer goes with the mount unless kept (`--keep-layer DIR`).
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { mountInBackground, unmount, type MountRequest } from '../mount.js';
import { makeEphemeralLayer, newThrowawayDir } from '../overlay/ephemeral-layer.js';
import { Repo } from '../store/repo.js';
import { resolveRev } from '../store/rev.js';
import { rootMountRequest, type HeldMount } from './root-mount.js';
import type { Roots } from './roots.js';

export interface EphemeralMount extends HeldMount { layerDir: string; kept: boolean }

/** Mounts `what` (a root's name, else a revision) over a new throwaway layer, at a new mountpoint. */
export async function holdEphemeralMount(roots: Roots, repoPath: string, what: string, keepLayer?: string): Promise<EphemeralMount> {
  const tmp = newThrowawayDir();
  const mnt = join(tmp, 'mnt');
  const dir = keepLayer !== undefined ? resolve(keepLayer) : join(tmp, 'layer');
  const dropAll = (): void => {
    if (keepLayer === undefined) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    fs.mkdirSync(mnt);
    let req: MountRequest;
    let copyOf: string | undefined;
    if (roots.has(what)) {
      const rec = roots.get(what);
      req = rootMountRequest(roots, repoPath, rec, mnt);
      copyOf = roots.layerDir(what);
    } else {
      const repo = Repo.open(repoPath);
      try { req = { repoPath, commit: resolveRev(repo, what), rev: what, mountpoint: mnt, options: [] }; } finally { repo.close(); }
    }
    await makeEphemeralLayer(dir, { commit: req.commit, rev: req.rev }, copyOf);
    // No root label: this is not the root's mount, and `root mount`/`enter` must not take it for one.
    await mountInBackground({ ...req, layer: { dir, root: '', sysroot: '', discard: keepLayer === undefined } });
  } catch (e) {
    dropAll();
    throw e;
  }
  return {
    mountpoint: mnt, layerDir: dir, kept: keepLayer !== undefined,
    // The daemon deletes a throwaway layer as it stops; one it could not (killed) goes here.
    // Nothing is deleted while the mount may still be up.
    release: async () => { await unmount(mnt); dropAll(); },
  };
}
