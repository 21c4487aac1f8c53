// A root as the kernel sees it: the FUSE ops of a LayeredTree (src/overlay/),
// which holds every rule of the layer. This file only translates: paths in,
// attributes and handles out, and the layer's refusals pass through as errnos.
import fs from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DIRECT_FH, FuseError, ID_UNCHANGED, LAYER_ONLY_DIR, STABLE_CONTENT, type DirListing, type FuseContext, type Stat, type StatFs, type TimeSpec } from './types.js';
import type { Backend } from './backend.js';
import type { CommitFs, Node } from './commit-fs.js';
import { inodeOf } from './inode.js';
import type { Layer } from '../overlay/layer.js';
import { LayeredTree } from '../overlay/layered-tree.js';
import type { Entry, UpperEntry } from '../overlay/lookup.js';
import { withOverride } from '../overlay/meta-changes.js';
import { NAME_MAX } from '../overlay/names.js';

// File handles: DIRECT_FH + fd for a file in the layer (the addon reads, writes and
// closes it without calling JS), 0 for a file of the commit (read by path).
const fdOf = (fh: number): number => {
  if (!Number.isSafeInteger(fh) || fh < DIRECT_FH) throw FuseError.of('EBADF');
  return fh - DIRECT_FH;
};
// Data calls go through libuv's thread pool (see layered-tree.ts for why metadata calls do not).
const fsOpen = promisify(fs.open), fsClose = promisify(fs.close);
const fsRead = promisify(fs.read), fsFtruncate = promisify(fs.ftruncate);

/** Upper files get inode numbers from their real inode (so hard links share one), apart from the base's path hashes. */
const msOf = (ns: bigint): number => Number(ns) / 1e6;
const upperIno = (st: fs.BigIntStats): number => inodeOf(`\0upper\0${st.ino}`);

const idOf = (id: number): number | null => (id === ID_UNCHANGED ? null : id);

export class OverlayFs implements Backend {
  private readonly tree: LayeredTree<Node>;

  constructor(private readonly base: CommitFs, layer: Layer, private readonly log: (msg: string) => void) {
    this.tree = new LayeredTree(layer, base);
  }

  get layerDir(): string { return resolve(this.tree.layer.upper); }

  get commitTree(): CommitFs { return this.base; }

  untouched(path: string): boolean {
    return this.tree.untouched(path);
  }

  observe(changed: (path: string) => void): void {
    this.tree.observe(changed);
  }

  private statOf(e: Entry<Node>): Stat {
    if (e.where === 'upper') {
      const st = e.st;
      // dev (never shown): a file at a writable path names its real inode, and the addon
      // may then write it and change its mode, owner and times without asking.
      // A directory only the layer has says so: the addon can answer "no such name" in it.
      const dev = st.isDirectory() ? (this.tree.isLayerOnlyDir(e.path) ? LAYER_ONLY_DIR : 0)
        : !e.unlinked && this.tree.takesWrites(e.path) ? Number(st.ino % 2n ** 32n) : 0;
      // A directory of the commit keeps its inode number when copied up, as a merged directory
      // does on overlayfs: tar compares a directory's st_ino before and after extracting into it.
      const ino = e.path === '/' ? 1 : st.isDirectory() && this.tree.isBaseDir(e.path) ? inodeOf(e.path) : upperIno(st);
      return {
        mode: Number(st.mode), ino, nlink: Number(st.nlink), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), rdev: Number(st.rdev),
        blksize: Number(st.blksize), blocks: Number(st.blocks), atime: msOf(st.atimeNs), mtime: msOf(st.mtimeNs), ctime: msOf(st.ctimeNs),
        ns: [st.atimeNs, st.mtimeNs, st.ctimeNs], dev,
      };
    }
    // dev (never shown): what this name holds is the commit's, read-only until copied up.
    return withOverride({ ...this.base.statOf(e.node), dev: STABLE_CONTENT }, e.over);
  }

  // --- reading ----------------------------------------------------------------

  async getattr(path: string): Promise<Stat> {
    return this.statAt(await this.tree.lookup(path));
  }

  /** statOf, with the link count of a commit's hard-linked file as the layer left it (see LayeredTree.baseLinks). */
  private async statAt(e: Entry<Node>): Promise<Stat> {
    const st = this.statOf(e);
    if (e.where === 'base' && e.node.kind === 'file' && st.nlink > 1) st.nlink = (await this.tree.baseLinks(e)) ?? st.nlink;
    return st;
  }

  async fgetattr(path: string | null, fh: number): Promise<Stat> {
    if (fh !== 0) {
      const e: UpperEntry = { where: 'upper', path: path ?? '', st: fs.fstatSync(fdOf(fh), { bigint: true }), ...(path === null ? { unlinked: true as const } : {}) };
      return this.statOf(e);
    }
    if (path === null) throw FuseError.of('EBADF');
    return this.getattr(path);
  }

  async readdir(path: string): Promise<DirListing> {
    const out: DirListing = { names: [], stats: [] };
    for (const [name, e] of await this.tree.list(path)) { out.names.push(name); out.stats!.push(await this.statAt(e)); }
    return out;
  }

  readlink(path: string): Promise<string> {
    return this.tree.readlink(path);
  }

  async open(path: string, flags: number, _ctx: FuseContext): Promise<number> {
    const fd = await this.tree.openFile(path, flags);
    return fd === null ? 0 : DIRECT_FH + fd;
  }

  async read(path: string | null, fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    // The addon reads a direct handle itself: only a commit's file (handle 0) comes here.
    if (fh !== 0) throw FuseError.of('EBADF');
    if (path === null) throw FuseError.of('EBADF');
    const e = await this.tree.lookup(path);
    if (e.where === 'base') return this.base.read(path, 0, buf, length, position);
    // Copied up since it was opened: its content is the layer's now.
    const fd = await fsOpen(this.tree.upperPath(path), 'r');
    try { return (await fsRead(fd, buf, 0, length, position)).bytesRead; } finally { await fsClose(fd); }
  }

  getxattr(path: string, name: string): Promise<Buffer | null> {
    return this.tree.getxattr(path, name);
  }

  listxattr(path: string): Promise<string[]> {
    return this.tree.listxattr(path);
  }

  /**
   * The commit's blocks (all used) on top of the layer's file system, with that file system's
   * real free space: df shows the root's size and what it can still take.
   */
  async statfs(): Promise<StatFs> {
    const [s, c] = await Promise.all([fs.promises.statfs(this.tree.layer.upper), this.base.statfs()]);
    const commitBlocks = Math.ceil((c.blocks * c.bsize) / s.bsize);
    return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks + commitBlocks, bfree: s.bfree, bavail: s.bavail, files: s.files + c.files, ffree: s.ffree, favail: s.ffree, namemax: NAME_MAX };
  }

  // --- writing ----------------------------------------------------------------

  async create(path: string, mode: number, ctx: FuseContext): Promise<number> {
    return DIRECT_FH + await this.tree.create(path, mode, ctx);
  }

  truncate(path: string, size: number): Promise<void> {
    return this.tree.truncate(path, size);
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    await fsFtruncate(fdOf(fh), size);
  }

  mkdir(path: string, mode: number, ctx: FuseContext): Promise<void> {
    return this.tree.mkdir(path, mode, ctx);
  }

  symlink(target: string, path: string, ctx: FuseContext): Promise<void> {
    return this.tree.symlink(target, path, ctx);
  }

  mknod(path: string, mode: number, rdev: number, ctx: FuseContext): Promise<void> {
    return this.tree.mknod(path, mode, rdev, ctx);
  }

  link(existing: string, path: string): Promise<void> {
    return this.tree.link(existing, path);
  }

  unlink(path: string): Promise<void> {
    return this.tree.unlink(path);
  }

  rmdir(path: string): Promise<void> {
    return this.tree.rmdir(path);
  }

  rename(from: string, to: string, _ctx?: FuseContext, flags = 0): Promise<void> {
    return this.tree.rename(from, to, flags);
  }

  // --- metadata ---------------------------------------------------------------

  chmod(path: string, mode: number): Promise<void> {
    return this.tree.chmod(path, mode);
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.tree.chown(path, idOf(uid), idOf(gid));
  }

  utimens(path: string, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
    return this.tree.utimens(path, atime, mtime);
  }

  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    return this.tree.setxattr(path, name, value, flags);
  }

  removexattr(path: string, name: string): Promise<void> {
    return this.tree.removexattr(path, name);
  }
}
