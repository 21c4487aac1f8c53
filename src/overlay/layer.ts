// A root's writable layer: a real directory (upper/) holding copied-up and new
// entries at their paths, and layer.db for whiteouts, opaque directories,
// metadata-only changes and the rules. One daemon owns a layer while mounted;
// it keeps the small sets in memory and writes each change through.
import fs from 'node:fs';
import { join } from 'node:path';
import { LayerDb, type MetaOverride } from './layer-db.js';
import { LongPaths, removeTree } from './long-paths.js';
import { Rules, VOLATILE_DIRS } from './rules.js';

export const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
export const ancestorsOf = (p: string): string[] => {
  const out: string[] = [];
  for (let q = parentOf(p); ; q = parentOf(q)) { out.push(q); if (q === '/') break; }
  return out;
};
const isBelow = (p: string, dir: string): boolean => p === dir || (dir === '/' ? true : p.startsWith(dir + '/'));

export class Layer {
  readonly upper: string;
  /**
   * Where copy-ups make their copy before renaming it into upper/ (as overlayfs's workdir):
   * the directory it goes to changes only by that rename, and a copy a dead daemon left
   * half-made is no entry (emptied at mount).
   */
  readonly work: string;
  readonly db: LayerDb;
  rules: Rules;
  readonly whiteouts: Set<string>;
  readonly opaque: Set<string>;
  readonly meta: Map<string, MetaOverride>;
  /** Every path present in upper/, so a lookup of a path that was never written costs no syscall. */
  readonly inUpper = new Set<string>();
  private readonly long: LongPaths;

  private constructor(readonly dir: string) {
    this.upper = join(dir, 'upper');
    this.work = join(dir, 'work');
    this.long = new LongPaths(this.work);
    fs.mkdirSync(this.upper, { recursive: true });
    this.db = new LayerDb(join(dir, 'layer.db'));
    const s = this.db.loadAll();
    this.whiteouts = new Set(s.whiteouts);
    this.opaque = new Set(s.opaque);
    this.meta = s.meta;
    this.rules = new Rules(s.rules);
  }

  static open(dir: string, opts: { scanUpper?: boolean; forMount?: boolean } = {}): Layer {
    const l = new Layer(dir);
    if (opts.forMount) {
      // Files unlinked while open, kept there by the path-API core until their last close
      // (before 0.2): nothing has them open any more.
      fs.rmSync(join(dir, 'hidden'), { recursive: true, force: true });
      // A copy a daemon that died left half-made.
      fs.rmSync(l.work, { recursive: true, force: true });
      fs.mkdirSync(l.work);
      l.dropVolatile();
    }
    if (opts.scanUpper !== false) l.scanUpper();
    return l;
  }

  /** Drops what the layer holds at and below each volatile directory (rules.ts): the commit's entries show again. */
  private dropVolatile(): void {
    for (const d of VOLATILE_DIRS) {
      removeTree(this.upperPath(d));
      this.forgetBelow(d);
    }
  }

  private scanUpper(): void {
    this.inUpper.add('/');
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(this.upperPath(rel), { withFileTypes: true })) {
        const p = rel === '/' ? `/${e.name}` : `${rel}/${e.name}`;
        this.inUpper.add(p);
        if (e.isDirectory()) walk(p);
      }
    };
    walk('/');
  }

  /** Where `p` is in upper/ (through work/long/ when its whole path would pass PATH_MAX: long-paths.ts). */
  upperPath(p: string): string {
    return p === '/' ? this.upper : this.long.reach(join(this.upper, p));
  }

  /** True when the base entry at `p` is hidden: deleted here, or below a deleted or opaque directory. */
  hidesBase(p: string): boolean {
    if (this.whiteouts.has(p)) return true;
    if (this.whiteouts.size === 0 && this.opaque.size === 0) return false;
    return ancestorsOf(p).some((a) => this.whiteouts.has(a) || this.opaque.has(a));
  }

  /** True when the layer holds anything at or below `p`: an entry of upper/, a whiteout, an opaque directory, a metadata change. */
  holdsBelow(p: string): boolean {
    for (const set of [this.inUpper, this.whiteouts, this.opaque, this.meta.keys()]) for (const x of set) if (isBelow(x, p)) return true;
    return false;
  }

  addWhiteout(p: string): void { this.whiteouts.add(p); this.db.addWhiteout(p); }
  removeWhiteout(p: string): void { if (this.whiteouts.delete(p)) this.db.removeWhiteout(p); }
  addOpaque(p: string): void { this.opaque.add(p); this.db.addOpaque(p); }
  setMeta(p: string, m: MetaOverride): void { this.meta.set(p, m); this.db.putMeta(p, m); }
  removeMeta(p: string): void { if (this.meta.delete(p)) this.db.removeMeta(p); }

  /**
   * Forgets every record at or below `p` (after a delete or a rename away); `whiteout`: and
   * hides the commit's entry at `p`, in one transaction (a crash between the two would bring
   * the commit's entry back).
   */
  forgetBelow(p: string, whiteout = false): void {
    let any = false;
    for (const set of [this.whiteouts, this.opaque]) for (const x of set) if (isBelow(x, p)) { set.delete(x); any = true; }
    for (const x of this.meta.keys()) if (isBelow(x, p)) { this.meta.delete(x); any = true; }
    if (whiteout) this.whiteouts.add(p);
    // The sets mirror the database: nothing in them, nothing to delete (and no synced write per unlink).
    if (any || whiteout) this.db.clearBelow(p, whiteout);
  }

  markUpper(p: string): void {
    this.inUpper.add(p);
  }

  /** Forgets `p` (and, for a directory, everything below it: a walk of the set). */
  unmarkUpper(p: string, subtree: boolean): void {
    this.inUpper.delete(p);
    if (subtree) for (const x of this.inUpper) if (isBelow(x, p)) this.inUpper.delete(x);
  }

  moveUpper(from: string, to: string, subtree: boolean): void {
    this.inUpper.delete(from);
    this.inUpper.add(to);
    if (!subtree) return;
    for (const x of [...this.inUpper]) {
      if (isBelow(x, from)) { this.inUpper.delete(x); this.inUpper.add(to + x.slice(from.length)); }
    }
  }

  close(): void { this.db.close(); }
}
