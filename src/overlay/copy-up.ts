// Copy-up: the first write to a commit's entry makes it a real file in upper/,
// with the content and metadata it had in the root. Directories on the way are
// made real too, so that upper/ mirrors the tree path for path.
import fs from 'node:fs';
import { join } from 'node:path';
import { xattrLib } from '../store/native-packages.js';
import { isLnk } from '../store/objects/types.js';
import type { BaseNode } from './base-tree.js';
import { LayerError } from './errors.js';
import { parentOf } from './layer.js';
import type { MetaOverride } from './layer-db.js';
import type { Entry, Lookup, UpperEntry } from './lookup.js';
import { setTimes } from './file-times.js';
import { metaOf } from './meta-changes.js';

export class CopyUp<N extends BaseNode> {
  private nextTmp = 1;

  /** `replaced` hears of each entry that became an upper one under the same name: another inode, another mtime. */
  constructor(private readonly look: Lookup<N>, private readonly replaced: (path: string) => void) {}

  /** Makes `dir` (and its ancestors) real directories in upper/, with the metadata they have in the root. */
  async ensureUpperDir(dir: string): Promise<void> {
    const layer = this.look.layer;
    if (layer.inUpper.has(dir)) return;
    await this.ensureUpperDir(parentOf(dir));
    const e = await this.look.lookup(dir);
    if (e.where === 'upper') return;
    if (e.node.kind !== 'dir') throw LayerError.of('ENOTDIR');
    const m = metaOf(e);
    const shown = this.look.base.dirTimeMs ?? 0;
    const p = layer.upperPath(dir);
    keepingTimes(parentOf(p), () => {
      try { fs.mkdirSync(p, { mode: 0o700 }); } catch (x) { if ((x as NodeJS.ErrnoException).code !== 'EEXIST') throw x; }
    });
    applyMeta(p, { ...m, mtime: m.mtime ?? shown, atime: m.atime ?? m.mtime ?? shown }, false);
    layer.markUpper(dir);
    // The directory itself carries its metadata now.
    layer.removeMeta(dir);
    this.look.setLayerOnly(dir, false);
    this.replaced(dir);
  }

  /** Copies a base file or symlink into upper/ (content checked as a read would), atomically by rename. */
  async copyUp(e: Entry<N>): Promise<UpperEntry> {
    if (e.where === 'upper') return e;
    if (e.node.kind === 'dir') { await this.ensureUpperDir(e.path); return (await this.look.lookup(e.path)) as UpperEntry; }
    const layer = this.look.layer;
    await this.ensureUpperDir(parentOf(e.path));
    const final = layer.upperPath(e.path);
    const tmp = join(layer.work, `copyup-${this.nextTmp++}`);
    const m = metaOf(e);
    const node = e.node as N & { kind: 'file' };
    try {
      if (isLnk(node.meta.mode)) {
        fs.symlinkSync(node.meta.symlinkTarget, tmp);
      } else {
        await this.look.base.copyContent(node, tmp);
        // The copy must be on disk before its name is: a crash must not leave a short file in the layer.
        const fh = await fs.promises.open(tmp, 'r');
        try { await fh.datasync(); } finally { await fh.close(); }
      }
      applyMeta(tmp, m, isLnk(node.meta.mode));
      keepingTimes(parentOf(final), () => fs.renameSync(tmp, final));
    } catch (x) {
      await fs.promises.rm(tmp, { force: true });
      throw x;
    }
    layer.markUpper(e.path);
    layer.removeMeta(e.path);
    this.replaced(e.path);
    return { where: 'upper', path: e.path, st: fs.lstatSync(final, { bigint: true }) };
  }
}

/**
 * Runs `change` (a copy-up's rename or mkdir into `dir`) and gives `dir` back its atime and
 * mtime, as overlayfs does: the directory did not change for anyone looking at the root.
 * (Its ctime moves all the same.) Synchronous, so no other operation comes in between.
 */
function keepingTimes(dir: string, change: () => void): void {
  const st = fs.statSync(dir, { bigint: true });
  change();
  setTimes(dir, 'omit', st.mtimeNs);
}

/** Gives a copied-up entry its metadata in the root (times not recorded become 0, as in an ostree checkout). */
function applyMeta(p: string, m: MetaOverride, isLink: boolean): void {
  fs.lchownSync(p, m.uid, m.gid);
  if (!isLink) fs.chmodSync(p, m.mode & 0o7777);
  for (const [k, v] of m.xattrs) xattrLib().setAttributeSync(p, k, v);
  setTimes(p, m.atime ?? m.mtime ?? 0, m.mtime ?? 0, isLink);
}
