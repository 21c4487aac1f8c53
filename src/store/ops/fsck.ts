// Verify every object against its checksum and every commit's tree for completeness.
import { commitPartialPath } from '../layout.js';
import fs from 'node:fs';
import { HacktreeError } from '../../errors.js';
import type { Checksum } from '../checksum.js';
import { sha256Hex } from '../checksum.js';
import type { Repo } from '../repo.js';
import { listRefs, formatRef } from '../refs.js';
import { parseCommit } from '../objects/commit.js';
import { parseDirTree, type DirTree } from '../objects/dirtree.js';
import { xattrsEqual } from '../objects/xattrs.js';
import { parseTreeStats, type FileStat } from '../tree-stats.js';
import { parseLinkCounts, pathsPerFile } from '../link-counts.js';
import { sizeOf } from './sizes.js';
import { parseDirMeta } from '../objects/dirmeta.js';
import { parseCommitMeta } from '../objects/commitmeta.js';
import { isNormalForm } from '../gvariant.js';
import { COMMIT_TYPE } from '../objects/commit.js';
import { DIRTREE_TYPE } from '../objects/dirtree.js';
import { DIRMETA_TYPE } from '../objects/dirmeta.js';
import { isLnk, type ObjectType } from '../objects/types.js';
import { objectChecksum, objectChecksumOfFileSync } from '../content-hash.js';
import { inflateFilez } from '../modes/archive.js';
import { scanObjects } from './object-scan.js';
import { reachableFrom } from './reachable.js';
import { noProgress, type Progress } from './progress.js';

export interface FsckProblem {
  kind: 'corrupt' | 'missing' | 'bad-ref' | 'bad-tree-stats' | 'bad-link-counts' | 'bad-tree-size' | 'bad-commit-new';
  type?: ObjectType;
  checksum?: Checksum;
  path?: string;
  message: string;
}

export interface FsckReport {
  objects: number;
  commits: number;
  problems: FsckProblem[];
}

const NORMAL_TYPES: Partial<Record<ObjectType, string>> = { commit: COMMIT_TYPE, dirtree: DIRTREE_TYPE, dirmeta: DIRMETA_TYPE };

export function fsck(repo: Repo, progress: Progress = noProgress): FsckReport {
  const problems: FsckProblem[] = [];
  const objects = scanObjects(repo);
  const commits: Checksum[] = [];
  const seen: Seen = { files: new Map(), trees: new Map() };
  objects.forEach((o, i) => {
    const message = verifyObject(repo, o.type, o.checksum, o.path, seen);
    if (message) problems.push({ kind: 'corrupt', type: o.type, checksum: o.checksum, message: `corrupt ${o.type} object ${o.checksum}: ${message}` });
    else if (o.type === 'commit') commits.push(o.checksum);
    if (i % 128 === 0) progress.update(i, objects.length, o.checksum.slice(0, 12));
  });
  for (const { ref, checksum } of listRefs(repo.path)) {
    if (!repo.hasObject(checksum, 'commit')) problems.push({ kind: 'bad-ref', checksum, message: `ref ${formatRef(ref)} points to missing commit ${checksum}` });
  }
  // A commit left partial by an interrupted pull is expected to lack objects.
  const complete = commits.filter((c) => !fs.existsSync(commitPartialPath(repo.path, c)));
  const r = reachableFrom(repo, complete);
  for (const m of r.missing) problems.push({ kind: 'missing', type: m.type, checksum: m.checksum, path: m.path, message: `missing ${m.type} object ${m.checksum} (${m.path} in commit ${m.commit})` });
  for (const c of r.corrupt) if (!problems.some((p) => p.checksum === c.checksum)) problems.push({ kind: 'corrupt', type: c.type, checksum: c.checksum, message: c.message });
  problems.push(...checkTreeStats(repo, seen));
  problems.push(...checkLinkCounts(repo, complete, seen));
  problems.push(...checkTreeSizes(repo, seen));
  problems.push(...checkCommitNew(repo, seen));
  progress.finish();
  return { objects: objects.length, commits: commits.length, problems };
}

/** What the object pass learnt, for checking the index's tree stats against the objects. */
interface Seen { files: Map<Checksum, FileStat>; trees: Map<Checksum, DirTree> }

/**
 * A mount trusts a dirtree's recorded stats instead of reading its objects: each
 * record of a good dirtree must say what the good objects say. One that does not
 * is reported and dropped (a mount records it again from the objects).
 */
function checkTreeStats(repo: Repo, seen: Seen): FsckProblem[] {
  const problems: FsckProblem[] = [];
  let index;
  try { index = repo.index; } catch { return problems; } // no index: nothing is trusted
  const bad: Checksum[] = [];
  for (const [tree, t] of seen.trees) {
    const raw = index.treeStats(tree);
    if (!raw) continue;
    let why: string | null = null;
    try {
      const stats = parseTreeStats(raw, t);
      const file = t.files.findIndex((f, i) => {
        const good = seen.files.get(f.checksum);
        return good !== undefined && !sameFileStat(good, stats.files[i]!);
      });
      const dir = t.dirs.findIndex((d, i) => {
        const sub = seen.trees.get(d.tree);
        return sub !== undefined && sub.dirs.length !== stats.subdirs[i];
      });
      if (file >= 0) why = `says other metadata for '${t.files[file]!.name}' than its object`;
      else if (dir >= 0) why = `says another subdirectory count for '${t.dirs[dir]!.name}'`;
    } catch (e) {
      why = (e as Error).message;
    }
    if (why === null) continue;
    bad.push(tree);
    problems.push({ kind: 'bad-tree-stats', type: 'dirtree', checksum: tree, message: `tree stats of dirtree ${tree} ${why}; removed from the index (a mount records them again)` });
  }
  if (bad.length > 0) index.batch(() => { for (const t of bad) index.removeTreeStats(t); });
  return problems;
}

/**
 * A mount shows a file's link count from the index's record of its commit's tree: each record
 * of a complete, good tree must count what its dirtrees hold. One that does not is reported and
 * dropped (a mount counts again).
 */
function checkLinkCounts(repo: Repo, commits: Checksum[], seen: Seen): FsckProblem[] {
  const problems: FsckProblem[] = [];
  let index;
  try { index = repo.index; } catch { return problems; }
  const roots = new Set(commits.map((c) => { try { return repo.loadCommitSync(c).rootTree; } catch { return null; } }));
  for (const root of roots) {
    const raw = root === null ? undefined : index.linkCounts(root);
    if (root === null || !raw) continue;
    let why: string | null = null;
    try {
      const recorded = parseLinkCounts(raw);
      const counted = [...pathsPerFile(root, seen.trees)].filter(([c, n]) => n > 1 && !isLnk(seen.files.get(c)?.meta.mode ?? 0));
      const differs = counted.length !== recorded.size || counted.some(([c, n]) => recorded.get(c) !== n);
      if (differs) why = `count ${recorded.size} files with several paths where its dirtrees hold ${counted.length} (or other counts)`;
    } catch (e) {
      if (!seen.trees.has(root)) continue; // a tree fsck could not read is reported as such
      why = (e as Error).message;
    }
    if (why === null) continue;
    index.removeLinkCounts(root);
    problems.push({ kind: 'bad-link-counts', type: 'dirtree', checksum: root, message: `link counts of tree ${root} ${why}; removed from the index (a mount counts again)` });
  }
  return problems;
}

/**
 * A mount's statfs reports a tree's recorded size: each record of a good tree must add up its
 * distinct file objects. One that does not is reported and dropped (measured again when asked).
 */
function checkTreeSizes(repo: Repo, seen: Seen): FsckProblem[] {
  const problems: FsckProblem[] = [];
  let index;
  try { index = repo.index; } catch { return problems; }
  for (const tree of seen.trees.keys()) {
    const recorded = index.treeSize(tree);
    if (!recorded) continue;
    const files = fileBytes(tree, seen);
    if (!files) continue; // a tree with damaged or missing objects is reported as such
    const { bytes, files: n } = sizeOf(files);
    if (bytes === recorded.bytes && n === recorded.files) continue;
    index.removeTreeSize(tree);
    problems.push({ kind: 'bad-tree-size', type: 'dirtree', checksum: tree, message: `recorded size of tree ${tree} (${recorded.bytes} bytes in ${recorded.files} files) is not what its objects hold (${bytes} bytes in ${n} files); removed from the index (measured again when asked)` });
  }
  return problems;
}

/**
 * `log` and `root list` report a commit's recorded share that its parent does not hold: each
 * record of a good commit and parent must add up the distinct files of the one that the other
 * lacks. One that does not is reported and dropped (measured again when asked).
 */
function checkCommitNew(repo: Repo, seen: Seen): FsckProblem[] {
  const problems: FsckProblem[] = [];
  let index;
  try { index = repo.index; } catch { return problems; }
  for (const { commit, ...recorded } of index.allCommitNew()) {
    let mine, parent;
    try {
      const c = repo.loadCommitSync(commit);
      if (!c.parent || !repo.hasObject(c.parent, 'commit')) continue; // not used: `log` says the parent is not here
      mine = fileBytes(c.rootTree, seen);
      parent = fileBytes(repo.loadCommitSync(c.parent).rootTree, seen);
    } catch {
      continue; // a commit fsck could not read is reported as such
    }
    if (!mine || !parent) continue;
    const { bytes, files } = sizeOf(mine, parent);
    if (bytes === recorded.bytes && files === recorded.files) continue;
    index.removeCommitNew(commit);
    problems.push({ kind: 'bad-commit-new', type: 'commit', checksum: commit, message: `recorded share of commit ${commit} new against its parent (${recorded.bytes} bytes in ${recorded.files} files) is not what its objects hold (${bytes} bytes in ${files} files); removed from the index (measured again when asked)` });
  }
  return problems;
}

/** The tree's distinct files with their bytes (a symlink's 0), or null where one is missing or damaged. */
function fileBytes(tree: Checksum, seen: Seen): Map<Checksum, number> | null {
  const out = new Map<Checksum, number>();
  try {
    for (const c of pathsPerFile(tree, seen.trees).keys()) {
      const f = seen.files.get(c);
      if (!f) return null;
      out.set(c, isLnk(f.meta.mode) ? 0 : f.size);
    }
  } catch {
    return null;
  }
  return out;
}

function sameFileStat(a: FileStat, b: FileStat): boolean {
  return a.meta.uid === b.meta.uid && a.meta.gid === b.meta.gid && a.meta.mode === b.meta.mode && a.meta.symlinkTarget === b.meta.symlinkTarget
    && (isLnk(a.meta.mode) || a.size === b.size) && xattrsEqual(a.meta.xattrs, b.meta.xattrs);
}

/** Returns what is wrong with one object, or null when it is good. */
export function verifyObject(repo: Repo, type: ObjectType, csum: Checksum, path: string, seen?: Seen): string | null {
  try {
    if (type === 'file') return verifyContent(repo, csum, path, seen);
    const data = fs.readFileSync(path);
    // Detached metadata is named after its commit, not its own bytes.
    if (type !== 'commitmeta' && sha256Hex(data) !== csum) return 'checksum mismatch (the bytes on disk changed)';
    if (type === 'commit') parseCommit(data);
    else if (type === 'dirtree') { const t = parseDirTree(data); if (sha256Hex(data) === csum) seen?.trees.set(csum, t); }
    else if (type === 'dirmeta') parseDirMeta(data);
    else parseCommitMeta(data);
    const sig = NORMAL_TYPES[type];
    if (sig && !isNormalForm(sig, data)) return 'not in GVariant normal form';
    return null;
  } catch (e) {
    return e instanceof HacktreeError || e instanceof Error ? e.message : String(e);
  }
}

function verifyContent(repo: Repo, csum: Checksum, path: string, seen?: Seen): string | null {
  const { meta, size } = repo.storage.readMetaSync(path);
  let got: string;
  if (isLnk(meta.mode)) got = objectChecksum(meta, Buffer.alloc(0));
  else if (repo.storage.plainContent) got = objectChecksumOfFileSync(meta, path);
  else got = objectChecksum(meta, inflateFilez(path, fs.readFileSync(path)));
  if (got !== csum) return 'checksum mismatch (content or metadata changed)';
  seen?.files.set(csum, { meta, size });
  return null;
}
