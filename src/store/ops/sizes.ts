// How big commits and trees are: the bytes of their distinct content objects (a
// file with several paths, or in several directories, counts once, as the store
// holds it once), and how much of a commit its parent does not already hold.
// Sizes come from the index's tree stats where a dirtree has them (one record a
// directory) and from the objects' headers where not (a commit ostree or a pull wrote).
// A tree's total is recorded in the index (commit records it too), so that it is
// measured once: a mount's statfs reads the row. So is what a commit adds to its parent.
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import type { DirTree } from '../objects/dirtree.js';
import { recordedTreeStats } from '../tree-stats.js';
import { isReg } from '../objects/types.js';
import { lookupPath } from '../tree-walk.js';
import { HacktreeError } from '../../errors.js';

export interface Size { bytes: number; files: number }

export interface CommitSize extends Size {
  /** What the parent does not hold; null where the parent is not in the repository. */
  new: Size | null;
}

/** Measures trees; remembers what it read, so a log's commits share their unchanged directories. */
/** Dirtrees read at once while sizing a tree. */
const WALK_BATCH = 64;

export class SizeReader {
  private readonly sizes = new Map<Checksum, number[]>();
  /** The last trees' contents: walking a log, each commit's tree is next its parent's. */
  private readonly recent = new Map<Checksum, Map<Checksum, number>>();

  constructor(private readonly repo: Repo) {}

  /** Each distinct regular file (symlinks count 0 bytes) of the tree under `rootTree`, with its size. */
  async contents(rootTree: Checksum): Promise<Map<Checksum, number>> {
    const hit = this.recent.get(rootTree);
    if (hit) return hit;
    const out = await this.walk(rootTree);
    this.record(rootTree, sizeOf(out));
    this.recent.set(rootTree, out);
    if (this.recent.size > 2) this.recent.delete(this.recent.keys().next().value!);
    return out;
  }

  private async walk(rootTree: Checksum): Promise<Map<Checksum, number>> {
    const out = new Map<Checksum, number>();
    const seen = new Set<Checksum>();
    let frontier = [rootTree];
    while (frontier.length > 0) {
      const fresh = [...new Set(frontier)].filter((t) => !seen.has(t));
      for (const t of fresh) seen.add(t);
      frontier = [];
      // A few trees at a time: a whole level of a large tree at once (thousands of dirtrees and
      // their files' metadata in flight) raised a mount daemon's peak RSS by ~70 MB on its first statfs.
      for (let at = 0; at < fresh.length; at += WALK_BATCH) {
        const batch = fresh.slice(at, at + WALK_BATCH);
        const trees = await Promise.all(batch.map((t) => this.repo.loadDirTree(t)));
        const sizes = await Promise.all(batch.map((t, i) => this.fileSizes(t, trees[i]!)));
        trees.forEach((tree, i) => tree.files.forEach((f, j) => out.set(f.checksum, sizes[i]![j]!)));
        for (const t of trees) for (const d of t.dirs) frontier.push(d.tree);
      }
    }
    return out;
  }

  /** The tree's size: its record in the index, else measured (and recorded). */
  async tree(rootTree: Checksum): Promise<Size> {
    return recordedSize(this.repo, rootTree) ?? sizeOf(await this.contents(rootTree));
  }

  private record(tree: Checksum, size: Size): void {
    try {
      if (!this.repo.index.treeSize(tree)) this.repo.index.putTreeSize(tree, size);
    } catch { /* the index is busy or read-only: measured again next time */ }
  }

  /**
   * A commit's size and what of it its parent does not hold. Both are recorded once measured, so
   * a commit's tree is walked once (with its parent's), not at every `log` or `root list`; a
   * commit without a parent is all new, and takes its tree's recorded size as it is.
   */
  async commit(commit: Checksum): Promise<CommitSize> {
    const c = await this.repo.loadCommit(commit);
    if (!c.parent) {
      const size = await this.tree(c.rootTree);
      return { ...size, new: size };
    }
    if (!this.repo.hasObject(c.parent, 'commit')) return { ...await this.tree(c.rootTree), new: null };
    const known = recordedNew(this.repo, commit);
    if (known) return { ...await this.tree(c.rootTree), new: known };
    const mine = await this.contents(c.rootTree);
    const parent = await missingAsNull(this.contents((await this.repo.loadCommit(c.parent)).rootTree));
    const fresh = parent && sizeOf(mine, parent);
    if (fresh) {
      try { this.repo.index.putCommitNew(commit, fresh); } catch { /* the index is busy or read-only: measured again next time */ }
    }
    return { ...sizeOf(mine), new: fresh };
  }

  /** The commit's size, or null where objects of it are missing (a partial commit: a lazy mount's, an interrupted pull's). */
  measure(commit: Checksum): Promise<CommitSize | null> {
    return missingAsNull(this.commit(commit));
  }

  /** The bytes at `path` in the commit (a directory's distinct files), or null where it has nothing. */
  async atPath(commit: Checksum, path: string): Promise<{ bytes: number; dir: boolean } | null> {
    let e;
    try {
      e = await lookupPath(this.repo, commit, path);
    } catch (err) {
      if (err instanceof HacktreeError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
    if (e.kind === 'dir') return { bytes: (await this.tree(e.tree)).bytes, dir: true };
    const info = await this.repo.loadFileMeta(e.checksum);
    return { bytes: isReg(info.meta.mode) ? info.size : 0, dir: false };
  }

  private async fileSizes(tree: Checksum, t: DirTree): Promise<number[]> {
    const known = this.sizes.get(tree);
    if (known) return known;
    let sizes = recordedTreeStats(this.repo, tree, t)?.files.map((f) => (isReg(f.meta.mode) ? f.size : 0));
    sizes ??= await Promise.all(t.files.map(async (f) => {
      const info = await this.repo.loadFileMeta(f.checksum);
      return isReg(info.meta.mode) ? info.size : 0;
    }));
    this.sizes.set(tree, sizes);
    return sizes;
  }
}

/** What of a commit its parent does not hold, as recorded in the repo's index, if it is. */
function recordedNew(repo: Repo, commit: Checksum): Size | undefined {
  try {
    return repo.index.commitNew(commit);
  } catch {
    return undefined;
  }
}

/** A tree's size as recorded in the repo's index, if it is (and the index can be read). */
export function recordedSize(repo: Repo, tree: Checksum): Size | undefined {
  try {
    return repo.index.treeSize(tree);
  } catch {
    return undefined;
  }
}

async function missingAsNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof HacktreeError && e.code === 'MISSING_OBJECT') return null;
    throw e;
  }
}

/** The bytes and count of `files`, leaving out those in `except`. */
export function sizeOf(files: Map<Checksum, number>, except?: Map<Checksum, number>): Size {
  let bytes = 0, n = 0;
  for (const [c, size] of files) {
    if (except?.has(c)) continue;
    bytes += size;
    n++;
  }
  return { bytes, files: n };
}
