// Commit a directory tree: write its content, dirtree and dirmeta objects and a
// commit object through one transaction, then move the branch.
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, describeSystemError } from '../../errors.js';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { Transaction } from '../transaction.js';
import { serializeDirTree, type DirTree } from '../objects/dirtree.js';
import { serializeDirMeta } from '../objects/dirmeta.js';
import { serializeCommit, type Metadata } from '../objects/commit.js';
import type { FileMeta } from '../objects/file-header.js';
import { S_IFLNK, S_IFREG } from '../objects/types.js';
import { readXattrsSync } from '../fs-xattrs.js';
import { readRef, type RefName } from '../refs.js';
import { compareNames } from '../objects/names.js';
import { serializeTreeStats, type FileStat } from '../tree-stats.js';
import { serializeLinkCounts } from '../link-counts.js';
import { noProgress, type Progress } from './progress.js';

export interface CommitOptions {
  branch: RefName;
  subject?: string;
  body?: string;
  /** Parent commit; undefined = the branch's current commit; null = none. */
  parent?: Checksum | null;
  ownerUid?: number;
  ownerGid?: number;
  /** Extra metadata, in the order given; ostree.ref-binding is appended. */
  metadata?: Metadata;
  /** Seconds since the epoch. */
  timestamp?: number;
  /** Skip device nodes, sockets and fifos (with a count) instead of failing. */
  skipSpecial?: boolean;
  progress?: Progress;
}

export interface CommitResult {
  checksum: Checksum;
  files: number;
  dirs: number;
  symlinks: number;
  skipped: string[];
  objectsWritten: number;
  contentBytesWritten: number;
  statCacheHits: number;
}

/** Files up to this size are read whole; larger ones are copied then hashed. */
const SMALL_FILE = 1 << 20;
/** Don't trust stat-cache entries this fresh: the file may change again within the same timestamp tick. */
const RACY_NS = 2_000_000_000n;

export function commitTree(repo: Repo, dir: string, opts: CommitOptions): CommitResult {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new HacktreeError('BAD_SOURCE', `cannot commit ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  if (!st.isDirectory()) throw new HacktreeError('BAD_SOURCE', `cannot commit ${dir}: not a directory`);

  const lock = repo.lock();
  const tx = new Transaction(repo);
  try {
    const w = new TreeWriter(repo, tx, opts);
    const root = w.writeDir(dir, '/');
    if (repo.index.linkCounts(root.tree) === undefined) tx.addLinkCounts(root.tree, serializeLinkCounts(w.repeatedFiles()));
    // What a mount's statfs reports, known here for nothing: measured later, it is a walk of every dirtree.
    if (repo.index.treeSize(root.tree) === undefined) tx.addTreeSize(root.tree, w.contentSize());
    const parent = opts.parent === undefined ? readRef(repo.path, opts.branch) : opts.parent;
    const checksum = writeCommitObject(tx, { ...opts, parent }, root);
    tx.commit([{ ref: opts.branch, checksum }]);
    w.flushStatCache();
    (opts.progress ?? noProgress).finish();
    return { checksum, ...w.counts, objectsWritten: tx.stats.objectsWritten, contentBytesWritten: tx.stats.contentBytesWritten };
  } catch (e) {
    tx.abort();
    throw describeSystemError(e, 'commit failed');
  } finally {
    lock.release();
  }
}

export interface CommitFields {
  branch: RefName;
  parent: Checksum | null;
  subject?: string;
  body?: string;
  metadata?: Metadata;
  timestamp?: number;
}

/** Writes the commit object for a root (dirtree, dirmeta), as `ostree commit -b` would: the branch is bound in the metadata. */
export function writeCommitObject(tx: Transaction, f: CommitFields, root: { tree: Checksum; meta: Checksum }): Checksum {
  return tx.writeMeta('commit', serializeCommit({
    metadata: [...(f.metadata ?? []), ['ostree.ref-binding', { type: 'as', value: [f.branch.name] }]],
    parent: f.parent,
    subject: f.subject ?? '',
    body: f.body ?? '',
    timestamp: f.timestamp ?? Math.floor(Date.now() / 1000),
    rootTree: root.tree,
    rootMeta: root.meta,
  }));
}

class TreeWriter {
  readonly counts = { files: 0, dirs: 0, symlinks: 0, skipped: [] as string[], statCacheHits: 0 };
  private readonly devino = new Map<string, Checksum>();
  private readonly statUpdates: Array<[{ dev: bigint; ino: bigint; variant: string }, { size: bigint; mtimeNs: bigint; ctimeNs: bigint }, Checksum]> = [];
  private readonly variant: string;
  private readonly racyLimit = BigInt(Date.now()) * 1_000_000n - RACY_NS;
  private readonly progress: Progress;
  private done = 0;
  /** Paths of each regular file's object, for the link counts (link-counts.ts). */
  private readonly paths = new Map<Checksum, number>();
  /** Each file object's bytes (a symlink's are none), for the tree's size (ops/sizes.ts). */
  private readonly sizes = new Map<Checksum, number>();
  /** Dirtrees whose stats this commit has recorded (identical directories share one). */
  private readonly statted = new Set<Checksum>();

  constructor(private readonly repo: Repo, private readonly tx: Transaction, private readonly opts: CommitOptions) {
    this.variant = `uid=${opts.ownerUid ?? ''},gid=${opts.ownerGid ?? ''},mode=${repo.mode}`;
    this.progress = opts.progress ?? noProgress;
  }

  writeDir(path: string, rel: string): { tree: Checksum; meta: Checksum; subdirs: number } {
    // The root may be named through a symlink (commit follows it, as readdir does): its
    // dirmeta is the directory's, never the link's (a dirmeta with a symlink's mode).
    const st = rel === '/' ? fs.statSync(path) : fs.lstatSync(path);
    const tree: DirTree = { files: [], dirs: [] };
    // What the tree stats need of each entry; a file's is read only if the stats are missing.
    const fileStats = new Map<string, () => FileStat>();
    const subdirs = new Map<string, number>();
    for (const ent of fs.readdirSync(path, { encoding: 'buffer' })) {
      const name = ent.toString('utf8');
      if (!Buffer.from(name, 'utf8').equals(ent)) {
        throw new HacktreeError('BAD_NAME', `cannot commit ${join(path, ent.toString('latin1'))}: file name is not valid UTF-8 (OSTree stores UTF-8 names only)`);
      }
      const child = join(path, name);
      const childRel = rel === '/' ? `/${name}` : `${rel}/${name}`;
      const cst = fs.lstatSync(child, { bigint: true });
      if (cst.isDirectory()) {
        const d = this.writeDir(child, childRel);
        tree.dirs.push({ name, tree: d.tree, meta: d.meta });
        subdirs.set(name, d.subdirs);
      } else if (cst.isFile()) {
        const f = this.writeFile(child, cst);
        tree.files.push({ name, checksum: f.checksum });
        this.paths.set(f.checksum, (this.paths.get(f.checksum) ?? 0) + 1);
        this.sizes.set(f.checksum, f.size);
        fileStats.set(name, f.stat);
      } else if (cst.isSymbolicLink()) {
        const meta = this.fileMeta(child, S_IFLNK | 0o777, cst, fs.readlinkSync(child));
        const link = this.tx.writeContent(meta, { kind: 'buffer', data: Buffer.alloc(0) }).object;
        tree.files.push({ name, checksum: link });
        this.sizes.set(link, 0);
        fileStats.set(name, () => ({ meta, size: 0 }));
        this.counts.symlinks++;
      } else {
        if (!this.opts.skipSpecial) {
          throw new HacktreeError('UNSUPPORTED_FILE', `cannot commit ${child}: ${kindOf(cst)} cannot be stored in an OSTree commit (remove it, or pass --skip-special to leave such files out)`);
        }
        this.counts.skipped.push(childRel);
      }
      this.tick(childRel);
    }
    this.counts.dirs++;
    const meta = serializeDirMeta({
      uid: this.opts.ownerUid ?? st.uid,
      gid: this.opts.ownerGid ?? st.gid,
      mode: st.mode,
      xattrs: readXattrsSync(path),
    });
    const treeCsum = this.tx.writeMeta('dirtree', serializeDirTree(tree));
    if (!this.statted.has(treeCsum) && !this.repo.index.hasTreeStats(treeCsum)) {
      const byName = (a: { name: string }, b: { name: string }) => compareNames(a.name, b.name);
      this.tx.addTreeStats(treeCsum, serializeTreeStats({
        files: tree.files.sort(byName).map((f) => fileStats.get(f.name)!()),
        subdirs: tree.dirs.sort(byName).map((d) => subdirs.get(d.name)!),
      }));
    }
    this.statted.add(treeCsum);
    return { tree: treeCsum, meta: this.tx.writeMeta('dirmeta', meta), subdirs: tree.dirs.length };
  }

  /** The bytes of the tree's distinct file objects, and how many: what SizeReader.tree measures. */
  contentSize(): { bytes: number; files: number } {
    let bytes = 0;
    for (const n of this.sizes.values()) bytes += n;
    return { bytes, files: this.sizes.size };
  }

  /** The regular files written at more than one path, and how many. */
  repeatedFiles(): Map<Checksum, number> {
    return new Map([...this.paths].filter(([, n]) => n > 1));
  }

  /** Writes (or finds) a regular file's object; `stat` gives its tree stats, reading its xattrs again if the object was not written now. */
  private writeFile(path: string, st: fs.BigIntStats): { checksum: Checksum; size: number; stat: () => FileStat } {
    this.counts.files++;
    const metaNow = (): FileMeta => this.fileMeta(path, S_IFREG | Number(st.mode & 0o7777n), st, '');
    const size = Number(st.size);
    const stat = (): FileStat => ({ meta: metaNow(), size });
    const devino = `${st.dev}:${st.ino}`;
    if (st.nlink > 1n) {
      const seen = this.devino.get(devino);
      if (seen) return { checksum: seen, size, stat };
    }
    const key = { dev: st.dev, ino: st.ino, variant: this.variant };
    const stamp = { size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
    const cached = this.repo.index.statLookup(key, stamp);
    if (cached && this.repo.hasObject(cached, 'file')) {
      this.counts.statCacheHits++;
      this.devino.set(devino, cached);
      return { checksum: cached, size, stat };
    }
    const meta = metaNow();
    const src = st.size <= BigInt(SMALL_FILE)
      ? { kind: 'buffer' as const, data: fs.readFileSync(path) }
      : { kind: 'file' as const, path, size };
    const { object } = this.tx.writeContent(meta, src);
    if (st.nlink > 1n) this.devino.set(devino, object);
    if (st.ctimeNs < this.racyLimit && st.mtimeNs < this.racyLimit) this.statUpdates.push([key, stamp, object]);
    return { checksum: object, size, stat: () => ({ meta, size }) };
  }

  private fileMeta(path: string, mode: number, st: fs.BigIntStats, target: string): FileMeta {
    return {
      uid: this.opts.ownerUid ?? Number(st.uid),
      gid: this.opts.ownerGid ?? Number(st.gid),
      mode,
      symlinkTarget: target,
      xattrs: readXattrsSync(path),
    };
  }

  private tick(rel: string): void {
    if (++this.done % 256 === 0) this.progress.update(this.done, null, rel);
  }

  flushStatCache(): void {
    const index = this.repo.index;
    index.batch(() => { for (const [k, s, o] of this.statUpdates) index.statRecord(k, s, o); });
  }
}

function kindOf(st: fs.BigIntStats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}
