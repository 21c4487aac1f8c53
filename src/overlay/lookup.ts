// What a path of a root is: a file in the layer (upper/), an entry of the
// commit (with the metadata the layer recorded for it), or nothing (deleted in
// the layer, or never there). Every operation on a root starts here.
import fs from 'node:fs';
import type { BaseNode, BaseTree } from './base-tree.js';
import { LayerError, isAbsent } from './errors.js';
import type { Layer } from './layer.js';
import type { MetaOverride } from './layer-db.js';
import { checkNameLength } from './names.js';

/** `unlinked`: a file unlinked while open, reached through its handle. */
/** st in bigint form: its times to the nanosecond, as the kernel must see them. */
export type UpperEntry = { where: 'upper'; path: string; st: fs.BigIntStats; unlinked?: true };
export type BaseEntry<N extends BaseNode> = { where: 'base'; path: string; node: N; over?: MetaOverride };
export type Entry<N extends BaseNode> = UpperEntry | BaseEntry<N>;

export const isDirEntry = (e: Entry<BaseNode>): boolean => (e.where === 'upper' ? e.st.isDirectory() : e.node.kind === 'dir');

const childOf = (dir: string, name: string): string => `${dir === '/' ? '' : dir}/${name}`;

export class Lookup<N extends BaseNode> {
  /**
   * Upper directories → whether only the layer has them (made here, or opaque, or hiding a
   * deleted base directory): a name in one exists exactly when its real file does, which
   * whoever serves the layer may then check without asking. Filled by lookups and mkdir;
   * dropped for whatever a rename or rmdir touches.
   */
  private readonly layerOnly = new Map<string, boolean>();

  constructor(readonly layer: Layer, readonly base: BaseTree<N>) {}

  async lookup(path: string): Promise<Entry<N>> {
    checkNameLength(path);
    if (this.layer.inUpper.has(path)) {
      try {
        const st = fs.lstatSync(this.layer.upperPath(path), { bigint: true });
        if (st.isDirectory() && !this.layerOnly.has(path)) {
          const inBase = !this.layer.opaque.has(path) && !this.layer.hidesBase(path) && await this.base.resolve(path).then((n) => n.kind === 'dir', () => false);
          this.layerOnly.set(path, !inBase);
        }
        return { where: 'upper', path, st };
      } catch {
        // Gone from upper/ behind our back: forget it, and show what the commit has.
        this.layer.unmarkUpper(path, true);
      }
    }
    if (this.layer.hidesBase(path)) throw LayerError.of('ENOENT');
    const node = await this.base.resolve(path);
    return { where: 'base', path, node, over: this.layer.meta.get(path) };
  }

  /** The entry at `path`, or null when there is none. */
  async exists(path: string): Promise<Entry<N> | null> {
    try { return await this.lookup(path); } catch (e) { if (isAbsent(e)) return null; throw e; }
  }

  /** A directory's entries: upper/'s names, and the commit's unless deleted or hidden by an opaque directory. */
  async list(path: string): Promise<Array<[name: string, entry: Entry<N>]>> {
    const dir = await this.lookup(path);
    const names = new Set<string>();
    if (dir.where === 'upper') {
      if (!dir.st.isDirectory()) throw LayerError.of('ENOTDIR');
      for (const n of await fs.promises.readdir(this.layer.upperPath(path))) names.add(n);
    }
    const fromBase = dir.where === 'base' ? dir.node : !this.layer.opaque.has(path) && !this.layer.hidesBase(path) ? await this.base.resolve(path).catch(() => null) : null;
    if (fromBase) {
      if (fromBase.kind !== 'dir') { if (dir.where === 'base') throw LayerError.of('ENOTDIR'); }
      else for (const n of await this.base.childNames(fromBase as N & { kind: 'dir' })) if (!this.layer.whiteouts.has(childOf(path, n))) names.add(n);
    }
    const list = [...names];
    const entries = await Promise.all(list.map((n) => this.lookup(childOf(path, n)).catch(() => null)));
    const out: Array<[string, Entry<N>]> = [];
    list.forEach((n, i) => { const e = entries[i]; if (e) out.push([n, e]); });
    return out;
  }

  /** True when the commit has an entry at `path` that the layer does not hide. */
  async baseShows(path: string): Promise<boolean> {
    return !this.layer.hidesBase(path) && (await this.baseHas(path));
  }

  /** True when the commit has an entry at `path` (whatever the layer did to it). */
  baseHas(path: string): Promise<boolean> {
    return this.base.resolve(path).then(() => true, () => false);
  }

  /** True when the upper directory at `path` is known to hide nothing of the commit's. */
  isLayerOnlyDir(path: string): boolean {
    return this.layerOnly.get(path) === true;
  }

  /** True for an upper directory known to be the commit's too (copied up, not made anew). */
  isBaseDir(path: string): boolean {
    return this.layerOnly.get(path) === false;
  }

  setLayerOnly(path: string, only: boolean): void {
    this.layerOnly.set(path, only);
  }

  /** Drops what is known of `path` and everything below it. */
  forgetLayerOnly(path: string): void {
    for (const p of this.layerOnly.keys()) if (p === path || p.startsWith(path + '/')) this.layerOnly.delete(p);
  }
}
