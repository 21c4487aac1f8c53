// An open repository: its mode, where objects live, and verified reads of them.
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import type { LRUCache } from 'lru-cache';
import { lru } from './lru.js';
import { HacktreeError, MissingObjectError, CorruptObjectError, NoRepoError } from '../errors.js';
import { getKey, initialConfig, modeFromConfig, parseKeyFile, type KeyFile, type RepoMode } from './config.js';
import { indexDbPath, lockDbPath, objectRelPath, SUBDIRS } from './layout.js';
import { sha256Hex, type Checksum } from './checksum.js';
import type { ObjectType, MetaObjectType } from './objects/types.js';
import { parseCommit, type Commit } from './objects/commit.js';
import { parseDirTree, type DirTree } from './objects/dirtree.js';
import { parseDirMeta, type DirMeta } from './objects/dirmeta.js';
import { checksumPrefix, type FileMeta } from './objects/file-header.js';
import { isLnk } from './objects/types.js';
import type { ContentStorage, ObjectInfo } from './modes/storage.js';
import { storageFor } from './modes/by-mode.js';
import { ContentIndex } from './content-index.js';
import { RepoLock } from './lock.js';
import { readSmallFile } from './small-file.js';
import { atomicWriteFileSync } from './durable.js';
import type { ObjectFetcher } from './object-fetcher.js';

/**
 * The bytes of the metadata object file `file`, checked against `csum`: rejects with a
 * CorruptObjectError when they do not match, with the system's error (`code`) when the file
 * cannot be read (ENOENT: missing).
 */
export type MetaReader = (file: string, csum: Checksum, type: MetaObjectType) => Promise<Buffer>;

export { storageFor };

export interface RepoOptions {
  /**
   * How many parsed dirtrees are kept (default 20,000). Commits and dirmetas have a cache of
   * their own: a tree has few distinct dirmetas, asked for again at every directory.
   */
  dirTreeCacheEntries?: number;
}

export class Repo {
  readonly storage: ContentStorage;
  /** Parsed metadata objects are immutable: a bounded cache saves re-reading them. */
  private readonly metaCache = lru<string, Commit | DirTree | DirMeta>(20_000);
  private readonly treeCache: LRUCache<string, Commit | DirTree | DirMeta>;
  private indexDb: ContentIndex | null = null;

  private constructor(readonly path: string, readonly mode: RepoMode, readonly config: KeyFile, opts: RepoOptions) {
    this.storage = storageFor(mode);
    this.treeCache = lru(opts.dirTreeCacheEntries ?? 20_000);
  }

  /** Durability policy: ostree's `core.fsync`, overridden by `--fsync=false`. */
  durable = true;

  /**
   * Asked for an object that is not here, by the asynchronous loaders only (a lazy mount
   * of a remote commit). The synchronous ones (fsck, prune, merges) never wait on a network.
   */
  fetcher: ObjectFetcher | null = null;

  /**
   * Reads and checks a metadata object another way than readSmallFile and a hash on the event
   * loop (a mount's daemon: its addon's one job of libuv's pool per object). Null: this process's own.
   */
  metaReader: MetaReader | null = null;

  static open(path: string, opts: RepoOptions = {}): Repo {
    const abs = resolve(path);
    let text: string;
    try {
      if (!fs.statSync(abs).isDirectory()) throw new NoRepoError(abs, 'not a directory');
      text = fs.readFileSync(join(abs, 'config'), 'utf8');
    } catch (e) {
      if (e instanceof HacktreeError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new NoRepoError(abs, fs.existsSync(abs) ? 'no config file (run `hacktree init`)' : 'does not exist (run `hacktree init`)');
      throw new NoRepoError(abs, (e as Error).message);
    }
    let kf: KeyFile;
    try { kf = parseKeyFile(text); } catch (e) { throw new NoRepoError(abs, `unreadable config: ${(e as Error).message}`); }
    const mode = modeFromConfig(getKey(kf, 'core', 'mode'));
    if (!mode) throw new NoRepoError(abs, `config has no known [core] mode (found '${getKey(kf, 'core', 'mode') ?? ''}')`);
    if (getKey(kf, 'core', 'repo_version') !== '1') throw new NoRepoError(abs, 'config repo_version is not 1');
    if (!fs.existsSync(join(abs, 'objects'))) throw new NoRepoError(abs, 'no objects/ directory');
    const repo = new Repo(abs, mode, kf, opts);
    repo.durable = getKey(kf, 'core', 'fsync') !== 'false';
    return repo;
  }

  static init(path: string, mode: RepoMode): Repo {
    const abs = resolve(path);
    if (fs.existsSync(join(abs, 'config'))) {
      throw new HacktreeError('REPO_EXISTS', `a repository already exists at ${abs}`);
    }
    fs.mkdirSync(abs, { recursive: true });
    for (const d of SUBDIRS) fs.mkdirSync(join(abs, d), { recursive: true });
    // config last: its presence is what makes the directory a repository.
    atomicWriteFileSync(join(abs, 'config'), initialConfig(mode), true);
    return Repo.open(abs);
  }

  objectPath(csum: Checksum, type: ObjectType): string {
    return join(this.path, objectRelPath(csum, type === 'file' ? this.storage.ext : type));
  }

  hasObject(csum: Checksum, type: ObjectType): boolean {
    // lstat: in bare mode a symlink object is a symlink, possibly dangling.
    return fs.lstatSync(this.objectPath(csum, type), { throwIfNoEntry: false }) !== undefined;
  }

  get index(): ContentIndex {
    if (!this.indexDb) {
      this.ensureOwnDir();
      this.indexDb = new ContentIndex(indexDbPath(this.path));
    }
    return this.indexDb;
  }

  /** Takes the writer lock (commit, prune, reindex, pull); a second writer waits. */
  lock(): RepoLock {
    this.ensureOwnDir();
    return RepoLock.acquire(lockDbPath(this.path));
  }

  /** hacktree/, which a repository ostree created does not have yet. */
  private ensureOwnDir(): void {
    fs.mkdirSync(join(this.path, 'hacktree'), { recursive: true });
  }

  close(): void {
    this.indexDb?.close();
    this.indexDb = null;
  }

  /** Reads a metadata object and checks its bytes against its name. */
  async readMetaObject(type: MetaObjectType, csum: Checksum): Promise<Buffer> {
    try {
      return await this.fetchedIfMissing(type, csum, async () => {
        const path = this.objectPath(csum, type);
        if (this.metaReader) return await this.metaReader(path, csum, type);
        const data = await readSmallFile(path);
        if (sha256Hex(data) !== csum) throw new CorruptObjectError(csum, type, 'checksum mismatch');
        return data;
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(csum, type);
      throw e;
    }
  }

  readMetaObjectSync(type: MetaObjectType, csum: Checksum): Buffer {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.objectPath(csum, type));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(csum, type);
      throw e;
    }
    if (sha256Hex(data) !== csum) throw new CorruptObjectError(csum, type, 'checksum mismatch');
    return data;
  }

  private parsed<T extends Commit | DirTree | DirMeta>(type: MetaObjectType, csum: Checksum, data: Buffer, parse: (b: Buffer) => T): T {
    let v: T;
    try { v = parse(data); } catch (e) { throw new CorruptObjectError(csum, type, (e as Error).message); }
    this.cacheOf(type).set(type + csum, v);
    return v;
  }

  private cacheOf(type: MetaObjectType): LRUCache<string, Commit | DirTree | DirMeta> {
    return type === 'dirtree' ? this.treeCache : this.metaCache;
  }

  private async cached<T extends Commit | DirTree | DirMeta>(type: MetaObjectType, csum: Checksum, parse: (b: Buffer) => T): Promise<T> {
    const hit = this.cacheOf(type).get(type + csum);
    return hit ? (hit as T) : this.parsed(type, csum, await this.readMetaObject(type, csum), parse);
  }

  private cachedSync<T extends Commit | DirTree | DirMeta>(type: MetaObjectType, csum: Checksum, parse: (b: Buffer) => T): T {
    const hit = this.cacheOf(type).get(type + csum);
    return hit ? (hit as T) : this.parsed(type, csum, this.readMetaObjectSync(type, csum), parse);
  }

  loadCommit(csum: Checksum): Promise<Commit> { return this.cached('commit', csum, parseCommit); }
  loadDirTree(csum: Checksum): Promise<DirTree> { return this.cached('dirtree', csum, (b) => parseDirTree(b, `dirtree ${csum}`)); }
  loadDirMeta(csum: Checksum): Promise<DirMeta> { return this.cached('dirmeta', csum, parseDirMeta); }
  loadCommitSync(csum: Checksum): Commit { return this.cachedSync('commit', csum, parseCommit); }
  loadDirTreeSync(csum: Checksum): DirTree { return this.cachedSync('dirtree', csum, (b) => parseDirTree(b, `dirtree ${csum}`)); }
  loadDirMetaSync(csum: Checksum): DirMeta { return this.cachedSync('dirmeta', csum, parseDirMeta); }

  loadFileMetaSync(csum: Checksum): ObjectInfo {
    try {
      return this.storage.readMetaSync(this.objectPath(csum, 'file'));
    } catch (e) {
      throw fileObjectError(csum, e);
    }
  }

  async loadFileMeta(csum: Checksum): Promise<ObjectInfo> {
    const read = (): Promise<ObjectInfo> => this.storage.readMeta(this.objectPath(csum, 'file')).catch((e: unknown) => { throw fileObjectError(csum, e); });
    const info = this.fetcher?.fetchInfo;
    if (!info) return this.fetchedIfMissing('file', csum, read);
    try {
      return await read();
    } catch (e) {
      if (!(e instanceof MissingObjectError)) return this.fetchedIfMissing('file', csum, read);
      const got = await info.call(this.fetcher, csum);
      if (!got) throw e;
      return got;
    }
  }

  /** Makes sure the object is here whole, fetching it when a fetcher can (prefetch). */
  async ensureObject(type: ObjectType, csum: Checksum): Promise<void> {
    await this.fetchedIfMissing(type, csum, async () => {
      if (!(await fs.promises.lstat(this.objectPath(csum, type)).catch(() => null))) throw new MissingObjectError(csum, type);
    });
  }

  /**
   * `read`, and when the object is not here (or is torn: a lazy mount's fetched objects reach
   * the disk in the background, so a crash may leave one short) and the fetcher brings it,
   * `read` again.
   */
  async fetchedIfMissing<T>(type: ObjectType, csum: Checksum, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof MissingObjectError;
      if (!this.fetcher || !(missing || e instanceof CorruptObjectError)) throw e;
      if (!missing) fs.rmSync(this.objectPath(csum, type), { force: true });
      if (!(await this.fetcher.fetch(type, csum))) throw e;
      return read();
    }
  }

  /** Reads a content object whole and verifies it against its checksum. */
  async readContent(csum: Checksum): Promise<{ meta: FileMeta; content: Buffer }> {
    const { meta } = await this.loadFileMeta(csum);
    const content = isLnk(meta.mode) ? Buffer.alloc(0) : await this.storage.readContent(this.objectPath(csum, 'file'));
    if (sha256Hex(checksumPrefix(meta), content) !== csum) throw new CorruptObjectError(csum, 'file', 'checksum mismatch');
    return { meta, content };
  }
}

function fileObjectError(csum: Checksum, e: unknown): Error {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new MissingObjectError(csum, 'file');
  if (e instanceof HacktreeError) return e;
  return new CorruptObjectError(csum, 'file', (e as Error).message);
}
