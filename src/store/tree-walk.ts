// Navigating a commit's tree: look up a path, list a directory, walk everything.
import type { Checksum } from './checksum.js';
import type { Repo } from './repo.js';
import { HacktreeError } from '../errors.js';
import type { DirMeta } from './objects/dirmeta.js';
import type { FileMeta } from './objects/file-header.js';
import { recordedTreeStats } from './tree-stats.js';

export type TreeEntry =
  | { kind: 'dir'; name: string; tree: Checksum; meta: Checksum }
  | { kind: 'file'; name: string; checksum: Checksum };

/** Splits '/a/b' into ['a', 'b']; refuses '..' so a lookup cannot leave the tree. */
export function splitPath(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new HacktreeError('USAGE', `path ${path} must not contain '..'`);
  return parts;
}

export async function rootEntry(repo: Repo, commit: Checksum): Promise<TreeEntry & { kind: 'dir' }> {
  const c = await repo.loadCommit(commit);
  return { kind: 'dir', name: '', tree: c.rootTree, meta: c.rootMeta };
}

export async function lookupPath(repo: Repo, commit: Checksum, path: string): Promise<TreeEntry> {
  let cur: TreeEntry = await rootEntry(repo, commit);
  for (const part of splitPath(path)) {
    if (cur.kind !== 'dir') throw new HacktreeError('NOT_FOUND', `${path}: not a directory in commit ${commit.slice(0, 12)}`);
    const t = await repo.loadDirTree(cur.tree);
    const f = t.files.find((x) => x.name === part);
    const d = t.dirs.find((x) => x.name === part);
    if (f) cur = { kind: 'file', name: part, checksum: f.checksum };
    else if (d) cur = { kind: 'dir', name: part, tree: d.tree, meta: d.meta };
    else throw new HacktreeError('NOT_FOUND', `${path}: no such file or directory in commit ${commit.slice(0, 12)}`);
  }
  return cur;
}

/** Entries of a directory as ostree lists them: files in name order, then directories in name order. */
export async function listDir(repo: Repo, tree: Checksum): Promise<TreeEntry[]> {
  const t = await repo.loadDirTree(tree);
  return [
    ...t.files.map((f) => ({ kind: 'file' as const, name: f.name, checksum: f.checksum })),
    ...t.dirs.map((d) => ({ kind: 'dir' as const, name: d.name, tree: d.tree, meta: d.meta })),
  ];
}

export type Visited =
  | { path: string; kind: 'dir'; entry: TreeEntry & { kind: 'dir' }; meta: DirMeta }
  | { path: string; kind: 'file'; entry: TreeEntry & { kind: 'file' }; meta: FileMeta; size: number };

/** One entry with its metadata, no recursion. */
export async function visit(repo: Repo, e: TreeEntry, path: string): Promise<Visited> {
  if (e.kind === 'dir') return { path, kind: 'dir', entry: e, meta: await repo.loadDirMeta(e.meta) };
  const { meta, size } = await repo.loadFileMeta(e.checksum);
  return { path, kind: 'file', entry: e, meta, size };
}

export const childPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Depth-first walk in listDir order, each directory before its contents. */
export async function* walkTree(repo: Repo, start: TreeEntry, path: string, depth = Infinity): AsyncGenerator<Visited> {
  yield await visit(repo, start, path);
  if (start.kind === 'dir' && depth > 0) yield* walkDir(repo, start.tree, path, depth - 1);
}

/**
 * A directory's entries (and below them, to `depth`): its files' metadata from the index's tree
 * stats where recorded, else read from their objects, all of a directory's at once (one at a time,
 * `ls` of a directory of 1,086 files took 0.45 s).
 */
async function* walkDir(repo: Repo, tree: Checksum, path: string, depth: number): AsyncGenerator<Visited> {
  const t = await repo.loadDirTree(tree);
  const stats = recordedTreeStats(repo, tree, t)?.files ?? await Promise.all(t.files.map((f) => repo.loadFileMeta(f.checksum)));
  for (const [i, f] of t.files.entries()) {
    yield { path: childPath(path, f.name), kind: 'file', entry: { kind: 'file', name: f.name, checksum: f.checksum }, meta: stats[i]!.meta, size: stats[i]!.size };
  }
  for (const d of t.dirs) yield* walkTree(repo, { kind: 'dir', name: d.name, tree: d.tree, meta: d.meta }, childPath(path, d.name), depth);
}
