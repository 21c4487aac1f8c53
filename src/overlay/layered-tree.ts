// A root's tree: its commit with the layer on top, by path, reading and taking
// writes. Every change is first put to the writable rules (rules.ts); then the
// entry is looked up (lookup.ts), copied up if the change needs its content
// (copy-up.ts) or recorded without copying (meta-changes.ts), and the layer's
// whiteouts and opaque directories follow what upper/ now holds (whiteouts.ts).
// Failures are LayerErrors or node:fs errors: an errno name in `code` either way.
//
// Metadata calls on upper/ (lstat, open, mkdir, chmod, chown, utimes, link,
// unlink, rename) are synchronous: each takes microseconds on an inode the
// kernel holds, while a thread-pool round trip costs 50-100 µs, and the caller
// waits for the answer either way (untar into a root: 30% faster). Data
// (copy-up content, truncation) and directory listings go through the pool.
import fs from 'node:fs';
import { join } from 'node:path';
import { isLnk } from '../store/objects/types.js';
import type { BaseNode, BaseTree } from './base-tree.js';
import { CopyUp } from './copy-up.js';
import { LayerError, refuse } from './errors.js';
import { setTimes } from './file-times.js';
import { parentOf, type Layer } from './layer.js';
import { isDirEntry, Lookup, type Entry, type UpperEntry } from './lookup.js';
import { chmodChange, chownChange, metaOf, removexattrChange, setxattrChange, utimensChange, type MetaChange, type TimeChange } from './meta-changes.js';
import { checkNameLength } from './names.js';
import { makeDir, makeFile, makeNode, makeSymlink, ownerOfNew, type Caller } from './new-entries.js';
import { changeRefusal, dirRenameRefusal, linkRefusal, renameRefusal } from './rules.js';
import { getXattr, listXattrs } from './upper-xattrs.js';
import { nameMade, nameMoved, nameRemoved } from './whiteouts.js';

const O_ACCMODE = 3;
/** renameat2(2) flags. */
export const RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
const { O_RDONLY, O_TRUNC, O_CREAT, O_EXCL } = fs.constants;

export class LayeredTree<N extends BaseNode> {
  private readonly look: Lookup<N>;
  private readonly copier: CopyUp<N>;
  private replaced: (path: string) => void = () => {};
  private nextExchange = 1;

  constructor(readonly layer: Layer, base: BaseTree<N>) {
    this.look = new Lookup(layer, base);
    this.copier = new CopyUp(this.look, (path) => this.replaced(path));
  }

  /** `changed` hears of each entry an operation replaced besides the paths it names (a directory copied up on the way). */
  observe(changed: (path: string) => void): void {
    this.replaced = changed;
  }

  // --- reading ----------------------------------------------------------------

  /** True when the rules let `path` take writes. */
  takesWrites(path: string): boolean {
    return this.layer.rules.writable(path);
  }

  /**
   * True when nothing at or below `path` can change while the layer is as it is: no path there
   * takes writes, and the layer holds nothing there. It is the commit's, as long as the root
   * runs this commit with this layer.
   */
  untouched(path: string): boolean {
    return !this.layer.rules.writableBelow(path) && !this.layer.holdsBelow(path);
  }

  lookup(path: string): Promise<Entry<N>> {
    return this.look.lookup(path);
  }

  /** True for a directory only the layer has: a name in it exists exactly when its file in upper/ does. */
  isLayerOnlyDir(path: string): boolean {
    return this.look.isLayerOnlyDir(path);
  }

  /** True for a directory of the commit that the layer copied up (see Lookup.isBaseDir). */
  isBaseDir(path: string): boolean {
    return this.look.isBaseDir(path);
  }

  /**
   * The link count of a commit's file that has several paths in the commit: those the
   * layer still shows as the commit's. A path copied up (written, renamed, linked to)
   * leaves the commit's inode for one of its own, and a deleted one is no link any more.
   * null: as the commit counts (the layer has changed nothing yet).
   */
  async baseLinks(e: Entry<N>): Promise<number | null> {
    if (e.where !== 'base' || !this.look.base.linkedPaths) return null;
    if (this.layer.inUpper.size <= 1 && this.layer.whiteouts.size === 0) return null;
    const paths = await this.look.base.linkedPaths(e.node);
    return paths.filter((p) => !this.layer.inUpper.has(p) && !this.layer.hidesBase(p)).length;
  }

  /** The real file in upper/ for `path`. */
  upperPath(path: string): string {
    return this.layer.upperPath(path);
  }

  list(path: string): Promise<Array<[name: string, entry: Entry<N>]>> {
    return this.look.list(path);
  }

  async readlink(path: string): Promise<string> {
    const e = await this.look.lookup(path);
    if (e.where === 'upper') return fs.promises.readlink(this.layer.upperPath(path));
    if (e.node.kind !== 'file' || !isLnk(e.node.meta.mode)) throw LayerError.of('EINVAL');
    return e.node.meta.symlinkTarget;
  }

  async getxattr(path: string, name: string): Promise<Buffer | null> {
    const e = await this.look.lookup(path);
    if (e.where === 'upper') return getXattr(this.layer.upperPath(path), name);
    const found = metaOf(e).xattrs.find(([k]) => k === name);
    return found ? found[1] : null;
  }

  async listxattr(path: string): Promise<string[]> {
    const e = await this.look.lookup(path);
    if (e.where === 'upper') return listXattrs(this.layer.upperPath(path));
    return metaOf(e).xattrs.map(([k]) => k);
  }

  // --- opening and content ------------------------------------------------------

  /**
   * Opens `path`: a file descriptor of its file in upper/, or null for a file that is
   * still the commit's (read it from there). An open for writing or truncation copies up.
   */
  async openFile(path: string, flags: number): Promise<number | null> {
    const wants = (flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0;
    let e = await this.look.lookup(path);
    if (wants) {
      refuse(changeRefusal(this.layer.rules, path));
      if (e.where === 'base') e = await this.copier.copyUp(e);
    }
    if (e.where === 'base') return null;
    if (e.st.isDirectory()) throw LayerError.of('EISDIR');
    return fs.openSync(this.layer.upperPath(path), flags & ~(O_CREAT | O_EXCL));
  }

  async truncate(path: string, size: number): Promise<void> {
    refuse(changeRefusal(this.layer.rules, path));
    const e = await this.copier.copyUp(await this.look.lookup(path));
    await fs.promises.truncate(this.layer.upperPath(e.path), size);
  }

  // --- new names ----------------------------------------------------------------

  /** Readies the name `path` for a new entry (its parent made real in upper/); returns the parent's mode and group. */
  private async prepareNew(path: string): Promise<{ mode: number; gid: number }> {
    refuse(changeRefusal(this.layer.rules, path));
    checkNameLength(path);
    if (await this.look.exists(path)) throw LayerError.of('EEXIST');
    await this.copier.ensureUpperDir(parentOf(path));
    const parent = await this.look.lookup(parentOf(path));
    return parent.where === 'upper' ? { mode: Number(parent.st.mode), gid: Number(parent.st.gid) } : metaOf(parent);
  }

  /** Creates a regular file; returns a descriptor open for reading and writing. */
  async create(path: string, mode: number, caller: Caller): Promise<number> {
    const o = ownerOfNew(await this.prepareNew(path), caller);
    const fd = makeFile(this.layer.upperPath(path), mode, o);
    nameMade(this.look, path);
    return fd;
  }

  async mkdir(path: string, mode: number, caller: Caller): Promise<void> {
    const o = ownerOfNew(await this.prepareNew(path), caller);
    makeDir(this.layer.upperPath(path), mode, o);
    nameMade(this.look, path, true);
    // No base entry shows here (prepareNew checked): new, or opaque over a deleted one.
    this.look.setLayerOnly(path, true);
  }

  async symlink(target: string, path: string, caller: Caller): Promise<void> {
    const o = ownerOfNew(await this.prepareNew(path), caller);
    makeSymlink(target, this.layer.upperPath(path), o);
    nameMade(this.look, path);
  }

  async mknod(path: string, mode: number, rdev: number, caller: Caller): Promise<void> {
    const o = ownerOfNew(await this.prepareNew(path), caller);
    await makeNode(this.layer.upperPath(path), mode, rdev, o);
    nameMade(this.look, path);
  }

  async link(existing: string, path: string): Promise<void> {
    refuse(linkRefusal(this.layer.rules, existing, path));
    const src = await this.copier.copyUp(await this.look.lookup(existing));
    if (src.st.isDirectory()) throw LayerError.of('EPERM');
    await this.prepareNew(path);
    fs.linkSync(this.layer.upperPath(src.path), this.layer.upperPath(path));
    nameMade(this.look, path);
  }

  // --- removing and renaming ------------------------------------------------------

  async unlink(path: string): Promise<void> {
    refuse(changeRefusal(this.layer.rules, path));
    const e = await this.look.lookup(path);
    if (isDirEntry(e)) throw LayerError.of('EISDIR');
    await this.remove(e);
  }

  async rmdir(path: string): Promise<void> {
    refuse(changeRefusal(this.layer.rules, path));
    const e = await this.look.lookup(path);
    if (!isDirEntry(e)) throw LayerError.of('ENOTDIR');
    if ((await this.look.list(path)).length > 0) throw LayerError.of('ENOTEMPTY');
    await this.remove(e);
    this.look.forgetLayerOnly(path);
  }

  /** Deletes an entry: its upper copy goes, and a base entry behind it is whited out. */
  private async remove(e: Entry<N>): Promise<void> {
    const baseShowed = await this.look.baseShows(e.path);
    if (e.where === 'upper') {
      // The whiteout first (it hides only the commit's entry, not the upper one): a crash
      // between the two must not bring the commit's entry back in place of the deleted one.
      if (baseShowed) this.layer.addWhiteout(e.path);
      const p = this.layer.upperPath(e.path);
      if (e.st.isDirectory()) await fs.promises.rm(p, { recursive: true });
      else fs.unlinkSync(p);
    } else {
      // A whiteout changes no directory in upper/, but the parent lost a name all the same.
      await this.dirChanged(parentOf(e.path));
    }
    nameRemoved(this.look, e.path, isDirEntry(e), baseShowed);
  }

  /** Moves a directory's mtime and ctime to now, as a disk does when one of its names goes (made real in upper/ first). */
  private async dirChanged(dir: string): Promise<void> {
    await this.copier.ensureUpperDir(dir);
    const p = this.layer.upperPath(dir);
    // utimensat stamps ctime too.
    setTimes(p, 'omit', 'now');
  }

  /** rename(2), and renameat2(2) with RENAME_NOREPLACE or RENAME_EXCHANGE in `flags`. */
  async rename(from: string, to: string, flags = 0): Promise<void> {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) || (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE)) throw LayerError.of('EINVAL');
    try {
      await (flags & RENAME_EXCHANGE ? this.exchange(from, to) : this.move(from, to, (flags & RENAME_NOREPLACE) !== 0));
    } finally {
      // What lookups on the way learnt of both subtrees is the old state's.
      this.look.forgetLayerOnly(from);
      this.look.forgetLayerOnly(to);
    }
  }

  /** Two names of one inode (rename(2) between them does nothing). */
  private sameFile(a: Entry<N>, b: Entry<N>): boolean {
    if (a.where === 'upper' && b.where === 'upper') return !a.st.isDirectory() && a.st.ino === b.st.ino && a.st.dev === b.st.dev;
    if (a.where === 'base' && b.where === 'base') return this.look.base.sameFile?.(a.node, b.node) ?? false;
    return false;
  }

  /**
   * Swaps two entries. A directory the commit has below either name would have to be
   * copied up whole: EXDEV, as for a plain rename of one.
   */
  private async exchange(a: string, b: string): Promise<void> {
    refuse(renameRefusal(this.layer.rules, a, b));
    refuse(renameRefusal(this.layer.rules, b, a));
    const ea = await this.look.lookup(a), eb = await this.look.lookup(b);
    for (const e of [ea, eb]) {
      if (isDirEntry(e)) refuse(dirRenameRefusal(e.where === 'base' || this.layer.opaque.has(e.path) || (await this.look.baseHas(e.path))));
    }
    if (this.sameFile(ea, eb)) return;
    const ua = await this.copier.copyUp(ea), ub = await this.copier.copyUp(eb);
    const pa = this.layer.upperPath(a), pb = this.layer.upperPath(b);
    // node:fs has no renameat2: three renames, one after the other in this one thread.
    const tmp = join(parentOf(pb), `.hacktree-exchange-${process.pid}-${this.nextExchange++}`);
    fs.renameSync(pa, tmp);
    fs.renameSync(pb, pa);
    fs.renameSync(tmp, pb);
    const swap = `\0exchange${a}`;
    this.layer.moveUpper(a, swap, ua.st.isDirectory());
    this.layer.moveUpper(b, a, ub.st.isDirectory());
    this.layer.moveUpper(swap, b, ua.st.isDirectory());
  }

  private async move(from: string, to: string, noReplace: boolean): Promise<void> {
    refuse(renameRefusal(this.layer.rules, from, to));
    checkNameLength(to);
    const src = await this.look.lookup(from);
    const srcIsDir = isDirEntry(src);
    if (srcIsDir) refuse(dirRenameRefusal(src.where === 'base' || (!this.layer.opaque.has(from) && (await this.look.baseHas(from)))));
    const dst = await this.look.exists(to);
    if (dst && noReplace) throw LayerError.of('EEXIST');
    if (dst && this.sameFile(src, dst)) return;
    if (dst) {
      const dstIsDir = isDirEntry(dst);
      if (srcIsDir && !dstIsDir) throw LayerError.of('ENOTDIR');
      if (!srcIsDir && dstIsDir) throw LayerError.of('EISDIR');
      if (dstIsDir && (await this.look.list(to)).length > 0) throw LayerError.of('ENOTEMPTY');
    }
    const up = await this.copier.copyUp(src);
    await this.copier.ensureUpperDir(parentOf(to));
    const dstBaseHad = await this.look.baseShows(to);
    const dstWasUpperDir = dst?.where === 'upper' && dst.st.isDirectory();
    if (dstWasUpperDir) fs.rmdirSync(this.layer.upperPath(to));
    // As in remove: the commit's entry at `from` is hidden before its upper copy leaves.
    const srcBaseHad = await this.look.baseShows(from);
    if (srcBaseHad) this.layer.addWhiteout(from);
    fs.renameSync(this.layer.upperPath(up.path), this.layer.upperPath(to));
    nameMoved(this.look, from, to, { srcIsDir, dstWasUpperDir, dstBaseHad, srcBaseHad });
  }

  // --- metadata ---------------------------------------------------------------------

  /** Changes metadata: on the upper file, or as a record for a base entry (no content copied). */
  private async changeMeta(path: string, change: MetaChange): Promise<void> {
    refuse(changeRefusal(this.layer.rules, path));
    const e = await this.look.lookup(path);
    if (e.where === 'upper') { await change.upper(this.layer.upperPath(path), e.st); return; }
    const m = { ...metaOf(e), xattrs: [...metaOf(e).xattrs] };
    change.base(m);
    // As a disk file system stamps the inode: every change of its metadata is one.
    m.ctime = Date.now();
    this.layer.setMeta(path, m);
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.changeMeta(path, chmodChange(mode));
  }

  /** null keeps that id. */
  chown(path: string, uid: number | null, gid: number | null): Promise<void> {
    return this.changeMeta(path, chownChange(uid, gid));
  }

  utimens(path: string, atime: TimeChange, mtime: TimeChange): Promise<void> {
    return this.changeMeta(path, utimensChange(atime, mtime));
  }

  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    return this.changeMeta(path, setxattrChange(name, value, flags));
  }

  removexattr(path: string, name: string): Promise<void> {
    return this.changeMeta(path, removexattrChange(name));
  }
}
