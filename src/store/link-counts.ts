// How many times each regular file occurs in a tree, for the files that occur more than once:
// what a mount needs to show them as one inode with its real link count, as an ostree checkout
// does (it hard-links every path of a content object to that object). A content object's
// checksum covers its bytes and its metadata, so two paths with one checksum are the same file
// in every respect a mount shows; hard-linked files of a committed directory are exactly such.
//
// The counts are a pure function of the root dirtree (its checksum covers the whole tree), so
// they are kept in the repo's index keyed by it and never go stale. Written by commit; a mount
// of a tree without a record (ostree or a pull wrote it) counts once and records it.
//
// Layout, little-endian: u32 version (1), u32 count, then per file: 32-byte checksum, u32 links.
import { checksumToBytes, type Checksum } from './checksum.js';
import type { Repo } from './repo.js';
import type { DirTree } from './objects/dirtree.js';
import { isReg } from './objects/types.js';
import { MalformedObjectError } from '../errors.js';

const VERSION = 1;
const ENTRY = 32 + 4;

/** Content object checksum → the number of paths it has in the tree (only those with more than one). */
export type LinkCounts = ReadonlyMap<Checksum, number>;

export function serializeLinkCounts(links: LinkCounts): Buffer {
  const b = Buffer.allocUnsafe(8 + ENTRY * links.size);
  let p = b.writeUInt32LE(VERSION, 0);
  p = b.writeUInt32LE(links.size, p);
  for (const [csum, n] of [...links].sort(([a], [c]) => (a < c ? -1 : 1))) {
    p += checksumToBytes(csum).copy(b, p);
    p = b.writeUInt32LE(n, p);
  }
  return b;
}

export function parseLinkCounts(b: Buffer): LinkCounts {
  if (b.length < 8 || b.readUInt32LE(0) !== VERSION) throw new MalformedObjectError('link counts of an unknown version');
  const n = b.readUInt32LE(4);
  if (b.length !== 8 + ENTRY * n) throw new MalformedObjectError(`link counts: ${b.length} bytes for ${n} entries`);
  const links = new Map<Checksum, number>();
  // One hex string for the whole record, cut per entry: a mount of /usr parses 4,119 entries
  // before it is ready, and a conversion per entry took twice as long on a cold JIT.
  const hex = b.toString('hex', 8);
  for (let i = 0, p = 8; p < b.length; i += 2 * ENTRY, p += ENTRY) {
    const count = b.readUInt32LE(p + 32);
    if (count < 2) throw new MalformedObjectError(`link counts: a count of ${count}`);
    links.set(hex.slice(i, i + 64), count);
  }
  return links;
}

/**
 * Counts the tree's regular files by checksum. Reads each distinct dirtree once (a subtree that
 * occurs several times counts several times) and the metadata of repeated checksums only, to
 * leave out symlinks (which an ostree checkout does not hard-link either).
 */
export async function countLinks(repo: Repo, rootTree: Checksum): Promise<LinkCounts> {
  // Every distinct dirtree, read breadth first, a level at a time.
  const trees = new Map<Checksum, DirTree>();
  let frontier: Checksum[] = [rootTree];
  while (frontier.length > 0) {
    const fresh = [...new Set(frontier)].filter((t) => !trees.has(t));
    const loaded = await Promise.all(fresh.map((t) => repo.loadDirTree(t)));
    fresh.forEach((t, i) => trees.set(t, loaded[i]!));
    frontier = loaded.flatMap((t) => t.dirs.map((d) => d.tree));
  }
  const repeated = [...pathsPerFile(rootTree, trees)].filter(([, n]) => n > 1);
  const metas = await Promise.all(repeated.map(([c]) => repo.loadFileMeta(c)));
  return new Map(repeated.filter((_, i) => isReg(metas[i]!.meta.mode)));
}

/** How many paths each file checksum has in the tree, given all its dirtrees (fsck has them at hand). */
export function pathsPerFile(rootTree: Checksum, trees: ReadonlyMap<Checksum, DirTree>): Map<Checksum, number> {
  const tree = (t: Checksum): DirTree => {
    const found = trees.get(t);
    if (!found) throw new MalformedObjectError(`dirtree ${t} is missing`);
    return found;
  };
  // How often each dirtree occurs, parents before children: reverse post-order of the DAG.
  const postOrder: Checksum[] = [];
  const seen = new Set<Checksum>([rootTree]);
  const stack: Array<{ tree: Checksum; next: number }> = [{ tree: rootTree, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const dirs = tree(top.tree).dirs;
    if (top.next < dirs.length) {
      const child = dirs[top.next++]!.tree;
      if (!seen.has(child)) { seen.add(child); stack.push({ tree: child, next: 0 }); }
    } else {
      stack.pop();
      postOrder.push(top.tree);
    }
  }
  const occurs = new Map<Checksum, number>([[rootTree, 1]]);
  const files = new Map<Checksum, number>();
  for (const t of postOrder.reverse()) {
    const k = occurs.get(t)!;
    const { dirs, files: entries } = tree(t);
    for (const d of dirs) occurs.set(d.tree, (occurs.get(d.tree) ?? 0) + k);
    for (const f of entries) files.set(f.checksum, (files.get(f.checksum) ?? 0) + k);
  }
  return files;
}
