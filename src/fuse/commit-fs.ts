// A read-only view of one commit, served straight from the object store.
// Nothing is walked at mount time: a path is resolved one directory at a time,
// and parsed directories and resolved paths live in bounded caches.
import fs from 'node:fs';
import type { LRUCache } from 'lru-cache';
import { lru } from '../store/lru.js';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import type { Commit } from '../store/objects/commit.js';
import type { DirMeta } from '../store/objects/dirmeta.js';
import type { DirTree } from '../store/objects/dirtree.js';
import type { FileMeta } from '../store/objects/file-header.js';
import type { ObjectInfo, ObjectStamp } from '../store/modes/storage.js';
import { isLnk, S_IFMT } from '../store/objects/types.js';
import { FuseError, type DirListing, type Stat, type StatFs } from './types.js';
import type { ReadBackend } from './backend.js';
import { inodeOf, linkedFileInode } from './inode.js';
import { ContentReader, type ObjectChecker } from './content-reader.js';
import { DeferredIndexWrites } from '../store/index-writes.js';
import { recordedTreeStats, serializeTreeStats, type TreeStats } from '../store/tree-stats.js';
import { countLinks, parseLinkCounts, serializeLinkCounts, type LinkCounts } from '../store/link-counts.js';
import type { FetchAhead } from '../store/fetch-ahead.js';
import type { Size } from '../store/ops/sizes.js';
import { commitSize } from './commit-size.js';
import { indexDbPath } from '../store/layout.js';

export type Node =
  | { kind: 'dir'; path: string; tree: Checksum; meta: DirMeta; nlink: number }
  | { kind: 'file'; path: string; checksum: Checksum; meta: FileMeta; size: number; stamp?: ObjectStamp };

interface DirIndex {
  /** name → file checksum or subdirectory (tree, meta), with its place among the dirtree's files or dirs */
  entries: Map<string, { checksum: Checksum; at: number } | { tree: Checksum; meta: Checksum; at: number }>;
  names: string[];
  /** name → index in names */
  position: Map<string, number>;
  subdirs: number;
  /** The entries' stats from the repo's index, when recorded: then no object is read to resolve them. */
  stats?: TreeStats;
}

/**
 * How many files ahead of a first read that reaches JS are checked (opened, where JS reads them).
 * Their reads are then served by the binding, so the next read JS sees is the
 * first one past this window: deep enough that a walk rarely waits on JS.
 */
const PREFETCH = 32;

export interface CommitFsOptions {
  verify: boolean;
  /**
   * Told, for a regular file whose object has been opened (and checked, unless
   * verify is off), which real file holds its bytes: what a mount publishes so
   * that the binding reads it natively. Plain-content repos only (bare, bare-user).
   */
  contentChecked?: (path: string, file: string) => void;
  /** Checks plain objects off the event loop (ContentReader's option): then checkedFile serves. */
  check?: ObjectChecker;
  /** Called for each failure that is not the caller's fault (corrupt or missing object). */
  log: (msg: string) => void;
  /**
   * Scales the caches of parsed directories, resolved paths and listings (default 1). A
   * commit's mount keeps every listing in native/ll, so JS needs only a working set there.
   */
  cacheScale?: number;
  /**
   * Count hard links when the index has no record of them (default true). Counting reads
   * every dirtree: a lazy mount of a partial commit would fetch them all, so it shows each
   * path as its own inode until the commit is whole.
   */
  countLinks?: boolean;
  /**
   * Record the stats of each directory listed in full into the index (default true). Not for a
   * partial commit: a lazy mount lists files by the headers the remote sent, which only a read
   * of the whole object verifies.
   */
  recordStats?: boolean;
  /**
   * A lazy mount's fetch-ahead: a walk seen reading a directory in order has the directory's
   * files fetched ahead, and one seen going on from a directory it read whole to a later one
   * has the whole subtree they share fetched ahead, in the order it walks.
   */
  ahead?: FetchAhead;
}

export class CommitFs implements ReadBackend {
  private readonly dirs: LRUCache<Checksum, DirIndex>;
  private readonly nodes: LRUCache<string, Node>;
  /** A commit's directories never change: a listing is built once. */
  private readonly listings: LRUCache<string, DirListing>;
  private readonly fileMetas: LRUCache<Checksum, ObjectInfo>;
  readonly content: ContentReader;
  /** Verified marks and tree stats, written to the repo's index in batches. */
  readonly indexWrites: DeferredIndexWrites;
  /** Directories have the commit's time; files and symlinks mtime 0, like an ostree checkout's (see BaseTree.dirTimeMs). */
  readonly dirTimeMs: number;

  /**
   * Regular files with several paths in the commit: each is one inode (numbered by its
   * checksum) with that many links, as in an ostree checkout, which hard-links them all.
   */
  private links: LinkCounts = new Map();

  private constructor(private readonly repo: Repo, private readonly commit: Commit, private readonly root: Node, private readonly opts: CommitFsOptions) {
    const k = opts.cacheScale ?? 1;
    this.dirs = lru(Math.ceil(4096 * k));
    this.nodes = lru(Math.ceil(65536 * k));
    this.listings = lru(Math.ceil(2048 * k));
    this.fileMetas = lru(Math.ceil(65536 * k));
    this.indexWrites = new DeferredIndexWrites(() => repo.index);
    this.content = new ContentReader(repo, { verify: opts.verify, ...(opts.check ? { check: opts.check } : {}) }, this.indexWrites);
    this.dirTimeMs = commit.timestamp * 1000;
  }

  static async open(repo: Repo, commitCsum: Checksum, opts: CommitFsOptions): Promise<CommitFs> {
    const commit = await repo.loadCommit(commitCsum);
    // Together: a lazy mount may fetch both.
    const [meta, tree] = await Promise.all([repo.loadDirMeta(commit.rootMeta), repo.loadDirTree(commit.rootTree)]);
    const fsys = new CommitFs(repo, commit, { kind: 'dir', path: '/', tree: commit.rootTree, meta, nlink: 2 }, opts);
    const idx = fsys.indexOf(commit.rootTree, tree);
    (fsys.root as Node & { kind: 'dir' }).nlink = 2 + idx.subdirs;
    fsys.links = await fsys.linkCounts(commit.rootTree);
    return fsys;
  }

  /**
   * The tree's link counts from the repo's index; a tree that ostree or a pull wrote has none
   * yet, so they are counted once (every dirtree read, no file object but the repeated ones'
   * metadata) and recorded for the next mount.
   */
  private async linkCounts(rootTree: Checksum): Promise<LinkCounts> {
    let raw: Buffer | undefined;
    try {
      raw = this.repo.index.linkCounts(rootTree);
    } catch {
      raw = undefined; // an index we cannot read: count them
    }
    if (raw) {
      try {
        return parseLinkCounts(raw);
      } catch (e) {
        this.opts.log(`link counts of ${rootTree} ignored: ${(e as Error).message}`);
      }
    }
    if (this.opts.countLinks === false) return new Map();
    const links = await this.guard('/', () => countLinks(this.repo, rootTree));
    const counted = serializeLinkCounts(links);
    this.indexWrites.add((index) => index.putLinkCounts(rootTree, counted));
    return links;
  }

  private async dirIndex(tree: Checksum): Promise<DirIndex> {
    const hit = this.dirs.get(tree);
    if (hit) return hit;
    return this.indexOf(tree, await this.repo.loadDirTree(tree));
  }

  private indexOf(tree: Checksum, t: DirTree): DirIndex {
    const entries: DirIndex['entries'] = new Map();
    t.files.forEach((f, at) => entries.set(f.name, { checksum: f.checksum, at }));
    t.dirs.forEach((d, at) => entries.set(d.name, { tree: d.tree, meta: d.meta, at }));
    const names = [...t.files.map((f) => f.name), ...t.dirs.map((d) => d.name)];
    const idx: DirIndex = { entries, names, position: new Map(names.map((n, i) => [n, i])), subdirs: t.dirs.length, stats: this.recordedStats(tree, t) };
    this.dirs.set(tree, idx);
    return idx;
  }

  /**
   * A dirtree's stats from the repo's index. One SQLite lookup on the event
   * loop, like the verified-object check: a B-tree probe of a few pages, where
   * resolving the entries one by one costs a thread-pool round trip per entry.
   */
  private recordedStats(tree: Checksum, t: DirTree): TreeStats | undefined {
    return recordedTreeStats(this.repo, tree, t, (why) => this.opts.log(`tree stats of ${tree} ignored: ${why}`));
  }

  /** Records the stats of a directory just listed in full, so that its next first listing (any mount, any commit) reads one record. */
  private recordStats(tree: Checksum, idx: DirIndex, children: Node[]): void {
    const stats: TreeStats = { files: [], subdirs: [] };
    const nFiles = idx.names.length - idx.subdirs;
    for (const [i, c] of children.entries()) {
      if (i < nFiles && c.kind === 'file') stats.files.push({ meta: c.meta, size: c.size });
      else if (i >= nFiles && c.kind === 'dir') stats.subdirs.push(c.nlink - 2);
      else return;
    }
    idx.stats = stats;
    const raw = serializeTreeStats(stats);
    this.indexWrites.add((index) => index.putTreeStats(tree, raw));
  }

  private async fileMeta(csum: Checksum): Promise<ObjectInfo> {
    const hit = this.fileMetas.get(csum);
    if (hit) return hit;
    const m = await this.repo.loadFileMeta(csum);
    this.fileMetas.set(csum, m);
    return m;
  }

  /** Resolves a path to a node, or throws ENOENT/ENOTDIR. Object damage becomes EIO (and a log line). */
  async resolve(path: string): Promise<Node> {
    if (path === '/') return this.root;
    const hit = this.nodes.get(path);
    if (hit) return hit;
    const slash = path.lastIndexOf('/');
    const parentPath = slash === 0 ? '/' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const parent = await this.resolve(parentPath);
    if (parent.kind !== 'dir') throw FuseError.of('ENOTDIR');
    const node = await this.guard(path, async () => {
      const idx = await this.dirIndex(parent.tree);
      const recorded = this.recordedChild(parentPath === '/' ? '' : parentPath, idx, name);
      if (recorded) return recorded;
      const e = idx.entries.get(name);
      if (!e) return null;
      if ('checksum' in e) return { kind: 'file', path, checksum: e.checksum, ...(await this.fileMeta(e.checksum)) } as Node;
      const subdirsRecorded = idx.stats?.subdirs[e.at];
      const [meta, subdirs] = await Promise.all([
        this.repo.loadDirMeta(e.meta),
        subdirsRecorded ?? this.dirIndex(e.tree).then((i) => i.subdirs),
      ]);
      return { kind: 'dir', path, tree: e.tree, meta, nlink: 2 + subdirs } as Node;
    });
    if (!node) throw FuseError.of('ENOENT');
    this.nodes.set(path, node);
    return node;
  }

  /** Turns store errors (corrupt, missing object) into EIO with a log line; never wrong bytes. */
  async guard<T>(path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof FuseError) throw e;
      this.opts.log(`${path}: ${(e as Error).message}`);
      throw new FuseError('EIO');
    }
  }

  statOf(n: Node): Stat {
    if (n.kind === 'dir') {
      return {
        mode: n.meta.mode, ino: inodeOf(n.path), nlink: n.nlink, uid: n.meta.uid, gid: n.meta.gid,
        size: 4096, blksize: 4096, blocks: 8, atime: this.dirTimeMs, mtime: this.dirTimeMs, ctime: this.dirTimeMs,
      };
    }
    const size = isLnk(n.meta.mode) ? Buffer.byteLength(n.meta.symlinkTarget) : n.size;
    const links = this.links.get(n.checksum);
    return {
      mode: n.meta.mode, ino: links ? linkedFileInode(n.checksum) : inodeOf(n.path), nlink: links ?? 1, uid: n.meta.uid, gid: n.meta.gid,
      size, blksize: 4096, blocks: Math.ceil(size / 512), atime: 0, mtime: 0, ctime: 0,
    };
  }

  /** Checksum → every path of a file the commit has under several (see linkedPaths). */
  private linkPaths?: Promise<Map<Checksum, string[]>>;

  /**
   * Every path of the commit that is the same file as `n` (`n`'s own alone for a file
   * with one path). The paths of all such files are found by one walk of the commit's
   * dirtrees, at the first ask.
   */
  linkedPaths(n: Node): Promise<string[]> {
    if (n.kind !== 'file' || !this.links.has(n.checksum)) return Promise.resolve([n.path]);
    this.linkPaths ??= this.guard('/', () => this.walkLinkedPaths());
    return this.linkPaths.then((m) => m.get(n.checksum) ?? [n.path]);
  }

  private async walkLinkedPaths(): Promise<Map<Checksum, string[]>> {
    const out = new Map<Checksum, string[]>();
    const walk = async (tree: Checksum, prefix: string): Promise<void> => {
      const t = await this.repo.loadDirTree(tree);
      for (const f of t.files) {
        if (!this.links.has(f.checksum)) continue;
        const list = out.get(f.checksum);
        if (list) list.push(`${prefix}/${f.name}`); else out.set(f.checksum, [`${prefix}/${f.name}`]);
      }
      await Promise.all(t.dirs.map((d) => walk(d.tree, `${prefix}/${d.name}`)));
    };
    if (this.links.size > 0) await walk(this.commit.rootTree, '');
    return out;
  }

  /** True when both are paths of one regular file of the commit (see links). */
  sameFile(a: Node, b: Node): boolean {
    return a.kind === 'file' && b.kind === 'file' && a.checksum === b.checksum && this.links.has(a.checksum);
  }

  async getattr(path: string): Promise<Stat> {
    return this.statOf(await this.resolve(path));
  }

  /** A file child of a listed directory as its tree stats describe it, or null when they do not. */
  private recordedChild(base: string, idx: DirIndex, name: string): Node | null {
    const path = `${base}/${name}`;
    const hit = this.nodes.get(path);
    if (hit) return hit;
    const e = idx.entries.get(name);
    const stat = e && 'checksum' in e ? idx.stats?.files[e.at] : undefined;
    if (!e || !('checksum' in e) || !stat) return null;
    const node: Node = { kind: 'file', path, checksum: e.checksum, meta: stat.meta, size: stat.size };
    this.nodes.set(path, node);
    return node;
  }

  /** Names in a directory node, files first, as the dirtree lists them. */
  async childNames(dir: Node & { kind: 'dir' }): Promise<string[]> {
    return (await this.guard(dir.path, () => this.dirIndex(dir.tree))).names;
  }

  async readdir(path: string): Promise<DirListing> {
    const hit = this.listings.get(path);
    if (hit) return hit;
    const { names, nodes, damaged } = await this.children(path);
    const listing: DirListing = { names, stats: nodes.map((c) => this.statOf(c)) };
    if (damaged > 0) listing.damaged = damaged;
    else this.listings.set(path, listing);
    return listing;
  }

  /**
   * The nodes of a directory's entries, in listing order; a damaged entry is left out (and
   * counted): opening it gives EIO. What a mount that keeps every entry's attributes, target
   * and xattrs (native/ll) lists from, with no call per entry.
   */
  async children(path: string): Promise<{ names: string[]; nodes: Node[]; damaged: number }> {
    const dir = await this.resolve(path);
    if (dir.kind !== 'dir') throw FuseError.of('ENOTDIR');
    const idx = await this.guard(path, () => this.dirIndex(dir.tree));
    const base = path === '/' ? '' : path;
    // Resolving every child also warms the caches the kernel's following lookups will hit.
    // Files the tree stats describe are resolved at once; only the rest (directories,
    // unrecorded files) wait.
    const children: Array<Node | null> = new Array(idx.names.length);
    const waits: Array<Promise<void>> = [];
    idx.names.forEach((n, i) => {
      const c = this.recordedChild(base, idx, n);
      if (c) children[i] = c;
      else waits.push(this.resolve(`${base}/${n}`).then((r) => { children[i] = r; }, () => { children[i] = null; }));
    });
    if (waits.length > 0) await Promise.all(waits);
    const names: string[] = [], nodes: Node[] = [];
    idx.names.forEach((n, i) => {
      const c = children[i];
      if (!c) return;
      names.push(n);
      nodes.push(c);
    });
    const damaged = idx.names.length - names.length;
    if (damaged === 0 && !idx.stats && this.opts.recordStats !== false) this.recordStats(dir.tree, idx, nodes);
    return { names, nodes, damaged };
  }

  async readlink(path: string): Promise<string> {
    const n = await this.resolve(path);
    if (n.kind !== 'file' || !isLnk(n.meta.mode)) throw new FuseError('EINVAL');
    return n.meta.symlinkTarget;
  }

  async read(path: string | null, _fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    if (path === null) throw new FuseError('EBADF');
    const n = await this.regularFile(path, position);
    const got = await this.guard(path, () => this.content.read(n.checksum, n, buf, length, position));
    this.checked(path, n.checksum);
    return got;
  }

  /** Whether checkedFile can serve a read: plain objects checked off the event loop, and told to contentChecked. */
  get servesCheckedFiles(): boolean {
    return this.opts.contentChecked !== undefined && this.content.checksOff();
  }

  /**
   * A read of the regular file at `path` (at `position`) that the mount serves from the object
   * file itself (servesCheckedFiles): the object is checked and published (contentChecked),
   * as read() does, without JS opening or reading it.
   */
  async checkedFile(path: string, position: number): Promise<void> {
    const n = await this.regularFile(path, position);
    await this.guard(path, () => this.content.ensureChecked(n.checksum, n));
    this.checked(path, n.checksum);
  }

  /** The regular file a read asks for; a first read (position 0) has the walk's next files checked ahead. */
  private async regularFile(path: string, position: number): Promise<Node & { kind: 'file' }> {
    const n = await this.resolve(path);
    if (n.kind !== 'file') throw new FuseError('EISDIR');
    if ((n.meta.mode & S_IFMT) !== 0o100000) throw new FuseError('EINVAL');
    if (position === 0) {
      this.walkedOn(path);
      this.prefetchAfter(path);
    }
    return n;
  }

  /** Writes a file's content to the new file `dest`, checked as a read of it is (a root's copy-up). */
  async copyContent(file: Node & { kind: 'file' }, dest: string): Promise<void> {
    await this.guard(file.path, () => this.content.copyTo(file.checksum, file, dest));
  }

  private checked(path: string, csum: Checksum): void {
    if (this.opts.contentChecked && this.repo.storage.plainContent) this.opts.contentChecked(path, this.repo.objectPath(csum, 'file'));
  }

  /**
   * A walk that reads files (tar, cp -a, rsync) reads a directory's files in
   * listing order, one after the other, and each first read waits for an open
   * and a check. Starting those for the next few files of the directory
   * overlaps them with the reads in flight.
   */
  private prefetchAfter(path: string): void {
    const slash = path.lastIndexOf('/');
    const dirPath = slash === 0 ? '/' : path.slice(0, slash);
    const dir = dirPath === '/' ? this.root : this.nodes.get(dirPath);
    if (!dir || dir.kind !== 'dir') return;
    const idx = this.dirs.get(dir.tree);
    if (!idx) return;
    const base = dirPath === '/' ? '' : dirPath;
    const i = idx.position.get(path.slice(slash + 1));
    if (i === undefined) return;
    // Objects that are not here (a lazy mount) are fetched ahead only for a walk that reads the
    // directory in order (the regular file before this one was read too), not for one program started.
    let fetch = false;
    for (let j = i - 1; j >= 0 && j >= i - 8; j--) {
      const prev = this.nodes.get(`${base}/${idx.names[j]}`);
      if (prev?.kind !== 'file' || (prev.meta.mode & S_IFMT) !== 0o100000) continue; // symlinks are never read
      fetch = this.content.isOpen(prev.checksum);
      break;
    }
    if (fetch) this.opts.ahead?.walk(dirPath, dir.tree, false);
    this.warmAfter(base, idx, i, fetch);
  }

  /** Checks (or opens and checks) the next PREFETCH regular files of a directory after its entry `i`. */
  private warmAfter(base: string, idx: DirIndex, i: number, fetch: boolean): void {
    for (let ahead = 0; ahead < PREFETCH && ++i < idx.names.length;) {
      const c = this.nodes.get(`${base}/${idx.names[i]}`);
      if (!c) break; // not listed yet: nothing suggests it will be read next
      if (c.kind !== 'file' || (c.meta.mode & S_IFMT) !== 0o100000) continue;
      const next = c.path;
      void this.content.warm(c.checksum, c, fetch).then((ok) => { if (ok) this.checked(next, c.checksum); });
      ahead++;
    }
  }

  /**
   * Checks (or opens and checks) the first files of the listed directory at `path` ahead of their first
   * reads: a walk that reads files (tar) reads a directory's files right after listing it, and
   * the first of them would otherwise wait for the disk alone. Not on a lazy mount: its walk
   * detection (walkedOn) needs the first read of a directory's files to reach JS, and a file
   * whose object came whole with its header would be checked ahead and read without JS, as
   * the race went (lazy-mount's "fetches ahead the rest of a subtree" failed when it did).
   */
  warmDir(path: string): void {
    if (this.opts.ahead) return;
    const dir = path === '/' ? this.root : this.nodes.get(path);
    const idx = dir?.kind === 'dir' ? this.dirs.get(dir.tree) : undefined;
    if (idx) this.warmAfter(path === '/' ? '' : path, idx, -1, false);
  }

  /** The repository's index (tree stats, verified marks), which a walk reads page by page. */
  get indexFile(): string {
    return indexDbPath(this.repo.path);
  }

  /** Whether objects missing here are fetched from a remote (a lazy mount): reading ahead then costs the network. */
  get fetches(): boolean {
    return this.repo.fetcher !== null;
  }

  /** The directory of the last file whose first read reached JS (a lazy mount's walk detection). */
  private lastReadDir: string | null = null;

  /**
   * A first read in another directory than the last one: when the walk had read every file of
   * that one and this directory comes after it in listing order, the walk is going through the
   * subtree both are in (tar, cp -a), and that subtree is fetched ahead from here on. A
   * program started reads a few files of a directory, never all.
   */
  private walkedOn(path: string): void {
    const ahead = this.opts.ahead;
    if (!ahead) return;
    const dirPath = path.slice(0, Math.max(path.lastIndexOf('/'), 1));
    const prev = this.lastReadDir;
    this.lastReadDir = dirPath;
    if (prev === null || prev === dirPath || ahead.covers(dirPath) || !this.readWhole(prev)) return;
    const a = prev === '/' ? [] : prev.slice(1).split('/'), b = dirPath === '/' ? [] : dirPath.slice(1).split('/');
    let common = 0;
    while (common < a.length && common < b.length && a[common] === b[common]) common++;
    if (common === b.length) return; // back up to an ancestor: not a walk in listing order
    const top = common === 0 ? '/' : `/${b.slice(0, common).join('/')}`;
    const topNode = top === '/' ? this.root : this.nodes.get(top);
    const idx = topNode?.kind === 'dir' ? this.dirs.get(topNode.tree) : undefined;
    if (!topNode || topNode.kind !== 'dir' || !idx) return;
    // From `prev` (or its ancestor below `top`) forward to this directory's branch: files come before directories.
    if (common < a.length && (idx.position.get(a[common]!) ?? Infinity) >= (idx.position.get(b[common]!) ?? -1)) return;
    ahead.walk(top, topNode.tree, true, b.slice(common));
  }

  /** True when every regular file of the directory at `path` (at least one) has been opened by this mount. */
  private readWhole(path: string): boolean {
    const dir = path === '/' ? this.root : this.nodes.get(path);
    const idx = dir?.kind === 'dir' ? this.dirs.get(dir.tree) : undefined;
    if (!idx) return false;
    const base = path === '/' ? '' : path;
    let files = 0;
    for (let i = 0; i < idx.names.length - idx.subdirs; i++) {
      const c = this.nodes.get(`${base}/${idx.names[i]}`);
      if (!c || c.kind !== 'file') return false;
      if ((c.meta.mode & S_IFMT) !== 0o100000) continue;
      if (!this.content.isOpen(c.checksum)) return false;
      files++;
    }
    return files > 0;
  }

  async getxattr(path: string, name: string): Promise<Buffer | null> {
    const n = await this.resolve(path);
    const found = n.meta.xattrs.find(([k]) => k === name);
    return found ? found[1] : null;
  }

  async listxattr(path: string): Promise<string[]> {
    return (await this.resolve(path)).meta.xattrs.map(([k]) => k);
  }

  /**
   * The commit's size (its distinct files' bytes, as recorded in the index, or measured once
   * outside the daemon: commit-size.ts), all of it used: df shows what the commit holds, not
   * the repository's disk. `files` is the commit's file count. A partial commit (a lazy
   * mount's) is not measured: that would fetch every directory; it reports no blocks, as does
   * a commit that could not be measured.
   */
  async statfs(): Promise<StatFs> {
    const s = await fs.promises.statfs(this.repo.path);
    if (!this.repo.fetcher) this.size ??= commitSize(this.repo, this.commit.rootTree, this.opts.log);
    const size = (await this.size) ?? { bytes: 0, files: 0 };
    const blocks = Math.ceil(size.bytes / s.bsize);
    return { bsize: s.bsize, frsize: s.bsize, blocks, bfree: 0, bavail: 0, files: size.files, ffree: 0, favail: 0, namemax: 255 };
  }

  private size: Promise<Size | null> | undefined;
}
