// A root as the kernel sees it: the commit, with the root's writable layer on
// top. Paths the rules name take writes, which land in the layer (copy-up on
// first write; metadata-only changes to base entries are recorded without
// copying content); everything else fails with EROFS.
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import xattr from '@napi-rs/xattr';
import { DIRECT_FH, FuseError, ID_UNCHANGED, LAYER_ONLY_DIR, STABLE_CONTENT, type DirListing, type FuseContext, type Stat, type StatFs, type TimeSpec } from './binding.js';
import type { Backend } from './backend.js';
import type { CommitFs, Node } from './commit-fs.js';
import { inodeOf } from './inode.js';
import { Layer, parentOf } from '../overlay/layer.js';
import type { MetaOverride } from '../overlay/layer-db.js';
import { isLnk, S_IFMT } from '../store/objects/types.js';
import type { Xattrs } from '../store/objects/types.js';

const run = promisify(execFile);

const NAME_MAX = 255;
const O_ACCMODE = 3;
const { O_WRONLY, O_RDWR, O_TRUNC, O_CREAT, O_EXCL } = fs.constants;
const XATTR_CREATE = 1, XATTR_REPLACE = 2;

type Entry =
  | { where: 'upper'; path: string; st: fs.Stats; unlinked?: true }
  | { where: 'base'; path: string; node: Node; over?: MetaOverride };

// File handles: DIRECT_FH + fd for a file in the layer (the binding reads, writes and
// closes it without calling JS), 0 for a file of the commit (read by path).
const fdOf = (fh: number): number => {
  if (!Number.isSafeInteger(fh) || fh < DIRECT_FH) throw err('EBADF');
  return fh - DIRECT_FH;
};
// Data (reads, writes, copy-up content, truncation, fsync) and directory listings go through
// libuv's thread pool or the binding. Metadata calls on the layer (lstat, open, mkdir, chmod,
// chown, utimes, link, unlink, rename) are made synchronously: each takes microseconds on
// an inode the kernel holds, while a thread-pool round trip costs 50-100 µs here, and the
// kernel's request waits for the answer either way (untar into a root: 30% faster).
const fsOpen = promisify(fs.open), fsClose = promisify(fs.close);
const fsRead = promisify(fs.read), fsWrite = promisify(fs.write), fsFtruncate = promisify(fs.ftruncate);
const fsFsync = promisify(fs.fsync), fsFdatasync = promisify(fs.fdatasync);

const err = (code: 'ENOENT' | 'EROFS' | 'EXDEV' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'ENAMETOOLONG' | 'EINVAL' | 'ENODATA' | 'EBADF' | 'EPERM'): FuseError => FuseError.of(code);

/** Upper files get inode numbers from their real inode (so hard links share one), apart from the base's path hashes. */
const upperIno = (st: fs.Stats): number => inodeOf(`\0upper\0${st.ino}`);

/** libfuse (without hard_remove) renames a file unlinked while open to this name in the same directory, and unlinks it at the last close. */
const isHiddenName = (path: string): boolean => path.slice(path.lastIndexOf('/') + 1).startsWith('.fuse_hidden');

export class OverlayFs implements Backend {
  private nextTmp = 1;
  /** libfuse's .fuse_hidden* names → the files, moved out of the tree into layer/hidden. */
  private readonly hidden = new Map<string, string>();
  private sideChange: (path: string) => void = () => {};
  /**
   * Upper directories → whether only the layer has them (made here, or opaque, or hiding a
   * deleted base directory): a name in one exists exactly when its real file does, which
   * the binding can then check itself (Stat.dev LAYER_ONLY_DIR). Filled by lookups and
   * mkdir; dropped for whatever a rename or rmdir touches.
   */
  private readonly layerOnly = new Map<string, boolean>();

  constructor(private readonly base: CommitFs, private readonly layer: Layer, private readonly log: (msg: string) => void) {}

  get layerDir(): string { return resolve(this.layer.upper); }

  observe(changed: (path: string) => void): void {
    this.sideChange = changed;
  }

  /**
   * An upper entry this daemon has just changed: its inode is in memory, so a
   * synchronous lstat cannot wait for the disk, and it spares the getattr that
   * follows nearly every change a round trip into JS.
   */
  statNow(path: string): Stat | null {
    const hidden = this.hidden.get(path);
    const real = hidden ?? (this.layer.inUpper.has(path) ? this.layer.upperPath(path) : null);
    if (real === null) return null;
    try {
      return this.statOf({ where: 'upper', path, st: fs.lstatSync(real), ...(hidden ? { unlinked: true as const } : {}) });
    } catch {
      return null;
    }
  }

  // --- lookup ---------------------------------------------------------------

  private checkName(path: string): void {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (Buffer.byteLength(name) > NAME_MAX) throw err('ENAMETOOLONG');
  }

  private async lookup(path: string): Promise<Entry> {
    this.checkName(path);
    const h = this.hidden.get(path);
    if (h) return { where: 'upper', path, st: fs.lstatSync(h), unlinked: true };
    if (this.layer.inUpper.has(path)) {
      try {
        const st = fs.lstatSync(this.layer.upperPath(path));
        if (st.isDirectory() && !this.layerOnly.has(path)) {
          const inBase = !this.layer.opaque.has(path) && !this.layer.hidesBase(path) && await this.base.resolve(path).then((n) => n.kind === 'dir', () => false);
          this.layerOnly.set(path, !inBase);
        }
        return { where: 'upper', path, st };
      } catch {
        this.layer.unmarkUpper(path, true);
      }
    }
    if (this.layer.hidesBase(path)) throw err('ENOENT');
    const node = await this.base.resolve(path);
    return { where: 'base', path, node, over: this.layer.meta.get(path) };
  }

  private async exists(path: string): Promise<Entry | null> {
    try { return await this.lookup(path); } catch (e) { if (e instanceof FuseError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return null; throw e; }
  }

  private statOf(e: Entry): Stat {
    if (e.where === 'upper') {
      const st = e.st;
      // dev (never shown): a file at a writable path names its real inode, and the binding
      // may then write it and change its mode, owner and times without asking.
      // A directory only the layer has says so: the binding can answer "no such name" in it.
      const dev = st.isDirectory() ? (this.layerOnly.get(e.path) === true ? LAYER_ONLY_DIR : 0)
        : !e.unlinked && this.layer.rules.writable(e.path) ? st.ino % 2 ** 32 : 0;
      return { mode: st.mode, ino: e.path === '/' ? 1 : upperIno(st), nlink: e.unlinked ? 0 : st.nlink, uid: st.uid, gid: st.gid, size: st.size, rdev: st.rdev, blksize: st.blksize, blocks: st.blocks, atime: st.atimeMs, mtime: st.mtimeMs, ctime: st.ctimeMs, dev };
    }
    // dev (never shown): what this name holds is the commit's, read-only until copied up.
    const s = { ...this.base.statOf(e.node), dev: STABLE_CONTENT };
    if (!e.over) return s;
    return { ...s, uid: e.over.uid, gid: e.over.gid, mode: e.over.mode, mtime: e.over.mtime ?? s.mtime, atime: e.over.atime ?? s.atime, ctime: Math.max(s.ctime, e.over.mtime ?? 0) };
  }

  private writable(path: string): void {
    if (!this.layer.rules.writable(path)) throw err('EROFS');
  }

  // --- reading ----------------------------------------------------------------

  async getattr(path: string): Promise<Stat> {
    return this.statOf(await this.lookup(path));
  }

  async fgetattr(path: string | null, fh: number): Promise<Stat> {
    if (fh !== 0) return this.statOf({ where: 'upper', path: path ?? '', st: fs.fstatSync(fdOf(fh)), ...(path === null || this.hidden.has(path) ? { unlinked: true as const } : {}) });
    if (path === null) throw err('EBADF');
    return this.getattr(path);
  }

  async readdir(path: string): Promise<DirListing> {
    const dir = await this.lookup(path);
    const names = new Set<string>();
    if (dir.where === 'upper') {
      if (!dir.st.isDirectory()) throw err('ENOTDIR');
      for (const n of await fs.promises.readdir(this.layer.upperPath(path))) names.add(n);
    }
    const fromBase = dir.where === 'base' ? dir.node : !this.layer.opaque.has(path) && !this.layer.hidesBase(path) ? await this.base.resolve(path).catch(() => null) : null;
    if (fromBase) {
      if (fromBase.kind !== 'dir') { if (dir.where === 'base') throw err('ENOTDIR'); }
      else {
        const base = path === '/' ? '' : path;
        for (const n of await this.base.childNames(fromBase)) if (!this.layer.whiteouts.has(`${base}/${n}`)) names.add(n);
      }
    }
    const base = path === '/' ? '' : path;
    const list = [...names];
    const entries = await Promise.all(list.map((n) => this.lookup(`${base}/${n}`).catch(() => null)));
    const out: DirListing = { names: [], stats: [] };
    list.forEach((n, i) => { const e = entries[i]; if (e) { out.names.push(n); out.stats!.push(this.statOf(e)); } });
    return out;
  }

  async readlink(path: string): Promise<string> {
    const e = await this.lookup(path);
    if (e.where === 'upper') return fs.promises.readlink(this.layer.upperPath(path));
    return this.base.readlink(path);
  }

  async open(path: string, flags: number, _ctx: FuseContext): Promise<number> {
    const wants = (flags & O_ACCMODE) !== fs.constants.O_RDONLY || (flags & O_TRUNC) !== 0;
    let e = await this.lookup(path);
    if (wants) {
      this.writable(path);
      if (e.where === 'base') e = await this.copyUp(e);
    }
    if (e.where === 'base') return 0;
    if (e.st.isDirectory()) throw err('EISDIR');
    return DIRECT_FH + fs.openSync(this.layer.upperPath(path), flags & ~(O_CREAT | O_EXCL));
  }

  async read(path: string | null, fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    // The binding reads direct handles itself; this serves mounts without directHandles.
    if (fh !== 0) return (await fsRead(fdOf(fh), buf, 0, length, position)).bytesRead;
    if (path === null) throw err('EBADF');
    const e = await this.lookup(path);
    if (e.where === 'base') return this.base.read(path, 0, buf, length, position);
    // Copied up since it was opened: its content is the layer's now.
    const fd = await fsOpen(this.layer.upperPath(path), 'r');
    try { return (await fsRead(fd, buf, 0, length, position)).bytesRead; } finally { await fsClose(fd); }
  }

  async release(_path: string | null, fh: number): Promise<void> {
    // Only without directHandles does a direct handle come here: then it is ours to close.
    if (fh !== 0) await fsClose(fdOf(fh));
  }

  async getxattr(path: string, name: string): Promise<Buffer | null> {
    const e = await this.lookup(path);
    if (e.where === 'upper') return xattr.getAttribute(this.layer.upperPath(path), name);
    const found = (e.over?.xattrs ?? e.node.meta.xattrs).find(([k]) => k === name);
    return found ? found[1] : null;
  }

  async listxattr(path: string): Promise<string[]> {
    const e = await this.lookup(path);
    if (e.where === 'upper') return xattr.listAttributes(this.layer.upperPath(path));
    return (e.over?.xattrs ?? e.node.meta.xattrs).map(([k]) => k);
  }

  async statfs(): Promise<StatFs> {
    const s = await fs.promises.statfs(this.layer.upper);
    return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, namemax: NAME_MAX };
  }

  // --- copy-up ----------------------------------------------------------------

  /** The metadata a base entry has in this root: its override if any, else the commit's. */
  private baseMeta(e: Entry & { where: 'base' }): { uid: number; gid: number; mode: number; xattrs: Xattrs; mtime: number | null; atime: number | null } {
    const m = e.node.meta;
    return e.over ?? { uid: m.uid, gid: m.gid, mode: m.mode, xattrs: m.xattrs, mtime: null, atime: null };
  }

  /** Makes `dir` (and its ancestors) real directories in upper/, with the base's metadata. */
  private async ensureUpperDir(dir: string): Promise<void> {
    if (this.layer.inUpper.has(dir)) return;
    await this.ensureUpperDir(parentOf(dir));
    const e = await this.lookup(dir);
    if (e.where === 'upper') return;
    if (e.node.kind !== 'dir') throw err('ENOTDIR');
    const m = this.baseMeta(e);
    const p = this.layer.upperPath(dir);
    try { fs.mkdirSync(p, { mode: 0o700 }); } catch (x) { if ((x as NodeJS.ErrnoException).code !== 'EEXIST') throw x; }
    applyMeta(p, m, false);
    this.layer.markUpper(dir);
    this.layer.removeMeta(dir);
    this.layerOnly.set(dir, false);
    this.sideChange(dir); // now an upper directory: another inode number and mtime
  }

  /** Copies a base file or symlink into upper/ (content checked as a read would), atomically by rename. */
  private async copyUp(e: Entry): Promise<Entry & { where: 'upper' }> {
    if (e.where === 'upper') return e;
    if (e.node.kind === 'dir') { await this.ensureUpperDir(e.path); return (await this.lookup(e.path)) as Entry & { where: 'upper' }; }
    await this.ensureUpperDir(parentOf(e.path));
    const final = this.layer.upperPath(e.path);
    const tmp = join(parentOf(final), `.hacktree-copyup-${process.pid}-${this.nextTmp++}`);
    const m = this.baseMeta(e);
    const node = e.node;
    try {
      if (isLnk(node.meta.mode)) {
        fs.symlinkSync(node.meta.symlinkTarget, tmp);
      } else {
        await this.base.guard(e.path, () => this.base.content.copyTo(node.checksum, node, tmp));
        // The copy must be on disk before its name is: a crash must not leave a short file in the layer.
        const fh = await fs.promises.open(tmp, 'r');
        try { await fh.datasync(); } finally { await fh.close(); }
      }
      applyMeta(tmp, m, isLnk(node.meta.mode));
      fs.renameSync(tmp, final);
    } catch (x) {
      await fs.promises.rm(tmp, { force: true });
      throw x;
    }
    this.layer.markUpper(e.path);
    this.layer.removeMeta(e.path);
    this.sideChange(e.path);
    return { where: 'upper', path: e.path, st: fs.lstatSync(final) };
  }

  /** The owner a new entry gets: the caller, with the group of a setgid parent. */
  private ownerIn(parent: Stat, ctx: FuseContext): { uid: number; gid: number; sgid: boolean; differs: boolean } {
    const sgid = (parent.mode & 0o2000) !== 0;
    const uid = ctx.uid, gid = sgid ? parent.gid : ctx.gid;
    // The daemon creates files as itself: only a different owner needs a chown.
    return { uid, gid, sgid, differs: uid !== process.getuid?.() || gid !== process.getgid?.() };
  }

  /** Prepares the name `path` for a new entry (its parent in upper/); returns the parent's attributes. */
  private async prepareNew(path: string): Promise<Stat> {
    this.writable(path);
    this.checkName(path);
    if (await this.exists(path)) throw err('EEXIST');
    await this.ensureUpperDir(parentOf(path));
    return this.statOf(await this.lookup(parentOf(path)));
  }

  // --- writing ----------------------------------------------------------------

  async create(path: string, mode: number, ctx: FuseContext): Promise<number> {
    const o = this.ownerIn(await this.prepareNew(path), ctx);
    const p = this.layer.upperPath(path);
    // The daemon's umask is 0 (see mount.ts): the kernel has applied the caller's already.
    const fd = fs.openSync(p, O_CREAT | O_EXCL | O_RDWR, mode & 0o7777);
    try {
      if (o.differs) {
        fs.fchownSync(fd, o.uid, o.gid);
        // chown(2) clears setuid/setgid: give them back.
        if (mode & 0o6000) fs.fchmodSync(fd, mode & 0o7777);
      }
    } catch (x) {
      fs.closeSync(fd);
      fs.rmSync(p, { force: true });
      throw x;
    }
    this.newName(path);
    return DIRECT_FH + fd;
  }

  /** A new name exists in upper/: a whiteout there would hide nothing now, and the base's old entry stays hidden. */
  private newName(path: string, isDirectory = false): void {
    this.layer.markUpper(path);
    if (this.layer.whiteouts.has(path)) {
      this.layer.removeWhiteout(path);
      // A directory made where a deleted base directory was must not show the old contents.
      if (isDirectory) this.layer.addOpaque(path);
    }
  }

  async write(fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    // The binding writes direct handles itself; this serves mounts without directHandles.
    return (await fsWrite(fdOf(fh), buf, 0, length, position)).bytesWritten;
  }

  async truncate(path: string, size: number): Promise<void> {
    this.writable(path);
    const e = await this.copyUp(await this.lookup(path));
    await fs.promises.truncate(this.layer.upperPath(e.path), size);
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    await fsFtruncate(fdOf(fh), size);
  }

  async fsync(fh: number, datasync: boolean): Promise<void> {
    if (fh !== 0) await (datasync ? fsFdatasync(fdOf(fh)) : fsFsync(fdOf(fh)));
  }

  async mkdir(path: string, mode: number, ctx: FuseContext): Promise<void> {
    const o = this.ownerIn(await this.prepareNew(path), ctx);
    const p = this.layer.upperPath(path);
    const m = (mode & 0o7777) | (o.sgid ? 0o2000 : 0);
    fs.mkdirSync(p, { mode: m });
    // mkdir(2) drops setuid/setgid from its mode (chown may too): set them explicitly.
    if (o.differs) fs.chownSync(p, o.uid, o.gid);
    if (o.differs || (m & 0o7000)) fs.chmodSync(p, m);
    this.newName(path, true);
    // No base entry shows here (prepareNew checked): new, or opaque over a deleted one.
    this.layerOnly.set(path, true);
  }

  private forgetLayerOnly(path: string): void {
    for (const p of this.layerOnly.keys()) if (p === path || p.startsWith(path + '/')) this.layerOnly.delete(p);
  }

  async symlink(target: string, path: string, ctx: FuseContext): Promise<void> {
    const o = this.ownerIn(await this.prepareNew(path), ctx);
    const p = this.layer.upperPath(path);
    fs.symlinkSync(target, p);
    if (o.differs) fs.lchownSync(p, o.uid, o.gid);
    this.newName(path);
  }

  async mknod(path: string, mode: number, rdev: number, ctx: FuseContext): Promise<void> {
    const o = this.ownerIn(await this.prepareNew(path), ctx);
    const p = this.layer.upperPath(path);
    const type = mode & S_IFMT;
    // node:fs has no mknod: coreutils' does it (off the event loop).
    if (type === fs.constants.S_IFIFO) await run('mknod', ['-m', (mode & 0o7777).toString(8), p, 'p']);
    else if (type === fs.constants.S_IFCHR || type === fs.constants.S_IFBLK) {
      const major = Math.floor(rdev / 256) & 0xfff, minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
      await run('mknod', ['-m', (mode & 0o7777).toString(8), p, type === fs.constants.S_IFCHR ? 'c' : 'b', String(major), String(minor)]);
    } else if (type === fs.constants.S_IFREG || type === 0) {
      fs.closeSync(fs.openSync(p, O_CREAT | O_EXCL | O_WRONLY, mode & 0o7777));
    } else throw err('EPERM');
    if (o.differs) fs.lchownSync(p, o.uid, o.gid);
    this.newName(path);
  }

  async link(existing: string, path: string): Promise<void> {
    this.writable(path);
    if (!this.layer.rules.writable(existing)) throw err('EXDEV');
    const src = await this.copyUp(await this.lookup(existing));
    if (src.st.isDirectory()) throw err('EPERM');
    await this.prepareNew(path);
    fs.linkSync(this.layer.upperPath(src.path), this.layer.upperPath(path));
    this.newName(path);
  }

  async unlink(path: string): Promise<void> {
    const hiddenFile = this.hidden.get(path);
    if (hiddenFile) {
      this.hidden.delete(path);
      fs.unlinkSync(hiddenFile);
      return;
    }
    this.writable(path);
    const e = await this.lookup(path);
    if (e.where === 'upper' ? e.st.isDirectory() : e.node.kind === 'dir') throw err('EISDIR');
    await this.remove(e);
  }

  async rmdir(path: string): Promise<void> {
    this.writable(path);
    const e = await this.lookup(path);
    if (e.where === 'upper' ? !e.st.isDirectory() : e.node.kind !== 'dir') throw err('ENOTDIR');
    if ((await this.readdir(path)).names.length > 0) throw err('ENOTEMPTY');
    await this.remove(e);
    this.forgetLayerOnly(path);
  }

  /** Deletes an entry: its upper copy goes, and a base entry behind it is whited out. */
  private async remove(e: Entry): Promise<void> {
    const path = e.path;
    if (e.where === 'upper') {
      const p = this.layer.upperPath(path);
      if (e.st.isDirectory()) await fs.promises.rm(p, { recursive: true });
      else fs.unlinkSync(p);
    }
    await this.forgetRemoved(path, e.where === 'upper' ? e.st.isDirectory() : e.node.kind === 'dir');
  }

  /** After the entry at `path` left upper/: forget it, and white out a base entry behind it. */
  private async forgetRemoved(path: string, isDirectory: boolean): Promise<void> {
    this.layer.unmarkUpper(path, isDirectory);
    const baseHas = !this.layer.hidesBase(path) && (await this.base.resolve(path).then(() => true, () => false));
    this.layer.forgetBelow(path);
    if (baseHas) this.layer.addWhiteout(path);
  }

  /** The unlink of an open file, as libfuse does it: the name goes, the file lives on until closed. */
  private async hide(from: string, to: string): Promise<void> {
    if (!this.layer.rules.writable(from)) throw err('EROFS');
    const up = await this.copyUp(await this.lookup(from));
    const dest = join(this.layer.hidden, `${this.nextTmp++}`);
    fs.renameSync(this.layer.upperPath(up.path), dest);
    this.hidden.set(to, dest);
    await this.forgetRemoved(from, false);
  }

  async rename(from: string, to: string): Promise<void> {
    if (isHiddenName(to) && !this.layer.inUpper.has(to)) return this.hide(from, to);
    try {
      await this.move(from, to);
    } finally {
      // What lookups on the way learnt of both subtrees is the old state's.
      this.forgetLayerOnly(from);
      this.forgetLayerOnly(to);
    }
  }

  private async move(from: string, to: string): Promise<void> {
    if (!this.layer.rules.writable(from)) throw err('EROFS');
    if (!this.layer.rules.writable(to)) throw err('EXDEV');
    this.checkName(to);
    const src = await this.lookup(from);
    const srcIsDir = src.where === 'upper' ? src.st.isDirectory() : src.node.kind === 'dir';
    // A base directory would have to be copied up whole: tell the caller to copy instead, as overlayfs does.
    if (srcIsDir && (src.where === 'base' || (!this.layer.opaque.has(from) && (await this.base.resolve(from).then(() => true, () => false))))) throw err('EXDEV');
    const dst = await this.exists(to);
    if (dst) {
      const dstIsDir = dst.where === 'upper' ? dst.st.isDirectory() : dst.node.kind === 'dir';
      if (srcIsDir && !dstIsDir) throw err('ENOTDIR');
      if (!srcIsDir && dstIsDir) throw err('EISDIR');
      if (dstIsDir && (await this.readdir(to)).names.length > 0) throw err('ENOTEMPTY');
    }
    const up = await this.copyUp(src);
    await this.ensureUpperDir(parentOf(to));
    const dstBaseHas = !this.layer.hidesBase(to) && (await this.base.resolve(to).then(() => true, () => false));
    if (dst?.where === 'upper' && dst.st.isDirectory()) fs.rmdirSync(this.layer.upperPath(to));
    fs.renameSync(this.layer.upperPath(up.path), this.layer.upperPath(to));
    this.layer.unmarkUpper(to, dst?.where === 'upper' && dst.st.isDirectory());
    this.layer.moveUpper(from, to, srcIsDir);
    this.layer.forgetBelow(to);
    if (srcIsDir && dstBaseHas) this.layer.addOpaque(to);
    const srcBaseHas = !this.layer.hidesBase(from) && (await this.base.resolve(from).then(() => true, () => false));
    this.layer.forgetBelow(from);
    if (srcBaseHas) this.layer.addWhiteout(from);
  }

  // --- metadata ---------------------------------------------------------------

  /** Changes metadata: on the upper file, or as a record for a base entry (no content copied). */
  /** `upper` gets the layer file and what lookup just found of it. */
  private async changeMeta(path: string, upper: (p: string, st: fs.Stats) => Promise<void>, base: (m: MetaOverride) => void): Promise<void> {
    this.writable(path);
    const e = await this.lookup(path);
    if (e.where === 'upper') { await upper(this.layer.upperPath(path), e.st); return; }
    const m = { ...this.baseMeta(e), xattrs: [...this.baseMeta(e).xattrs] };
    base(m);
    this.layer.setMeta(path, m);
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.changeMeta(path,
      async (p, st) => { if (!st.isSymbolicLink()) fs.chmodSync(p, mode & 0o7777); },
      (m) => { m.mode = (m.mode & S_IFMT) | (mode & 0o7777); });
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    await this.changeMeta(path,
      async (p, st) => {
        fs.lchownSync(p, uid === ID_UNCHANGED ? st.uid : uid, gid === ID_UNCHANGED ? st.gid : gid);
      },
      (m) => {
        if (uid !== ID_UNCHANGED) m.uid = uid;
        if (gid !== ID_UNCHANGED) m.gid = gid;
        // No setuid/setgid stripping here: the kernel sends it as a mode change in the same
        // setattr (applied before the chown), by chown(2)'s rules (setgid only with g+x).
      });
  }

  async utimens(path: string, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
    const now = Date.now();
    await this.changeMeta(path,
      async (p, st) => {
        const a = atime === 'omit' ? st.atimeMs : atime === 'now' ? now : atime;
        const m = mtime === 'omit' ? st.mtimeMs : mtime === 'now' ? now : mtime;
        (st.isSymbolicLink() ? fs.lutimesSync(p, a / 1000, m / 1000) : fs.utimesSync(p, a / 1000, m / 1000));
      },
      (m) => {
        if (atime !== 'omit') m.atime = atime === 'now' ? now : atime;
        if (mtime !== 'omit') m.mtime = mtime === 'now' ? now : mtime;
      });
  }

  async setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    await this.changeMeta(path,
      async (p) => {
        const had = (await xattr.getAttribute(p, name)) !== null;
        if ((flags & XATTR_CREATE) && had) throw err('EEXIST');
        if ((flags & XATTR_REPLACE) && !had) throw err('ENODATA');
        await xattr.setAttribute(p, name, value);
      },
      (m) => {
        const i = m.xattrs.findIndex(([k]) => k === name);
        if ((flags & XATTR_CREATE) && i >= 0) throw err('EEXIST');
        if ((flags & XATTR_REPLACE) && i < 0) throw err('ENODATA');
        if (i >= 0) m.xattrs[i] = [name, Buffer.from(value)]; else m.xattrs.push([name, Buffer.from(value)]);
      });
  }

  async removexattr(path: string, name: string): Promise<void> {
    await this.changeMeta(path,
      async (p) => {
        if ((await xattr.getAttribute(p, name)) === null) throw err('ENODATA');
        await xattr.removeAttribute(p, name);
      },
      (m) => {
        const i = m.xattrs.findIndex(([k]) => k === name);
        if (i < 0) throw err('ENODATA');
        m.xattrs.splice(i, 1);
      });
  }

  /** For the log when the daemon stops. */
}

/** Gives a copied-up entry the metadata the base (or its override) says it has. */
function applyMeta(p: string, m: { uid: number; gid: number; mode: number; xattrs: Xattrs; mtime: number | null; atime: number | null }, isLink: boolean): void {
  fs.lchownSync(p, m.uid, m.gid);
  if (!isLink) fs.chmodSync(p, m.mode & 0o7777);
  for (const [k, v] of m.xattrs) xattr.setAttributeSync(p, k, v);
  const mt = (m.mtime ?? 0) / 1000, at = (m.atime ?? m.mtime ?? 0) / 1000;
  if (isLink) fs.lutimesSync(p, at, mt); else fs.utimesSync(p, at, mt);
}
