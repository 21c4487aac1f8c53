// The node table of a root's mount: what each node id the kernel holds means, as paths for
// the Backend. One node per file: the names of a hard link are one node (the kernel then
// sees one inode with its real link count, and a link or unlink through one name is seen
// through the other at once), and a path keeps its node when the layer copies it up. A node
// lives while the kernel holds it (its lookups minus FORGETs), and ids are never reused.
import { FuseError, STABLE_CONTENT, type Stat } from '../types.js';

const S_IFMT = 0o170000, S_IFDIR = 0o040000;
export const ROOT_ID = 1;

export interface Node {
  readonly id: number;
  /** Its names now (none once unlinked: then only open handles reach it). */
  readonly paths: Set<string>;
  /** What the kernel holds: entry replies minus FORGETs. */
  nlookup: number;
  /** The file type and inode number it was last answered with. */
  fmt: number;
  ino: number;
  /** Descriptors of its layer file the kernel holds open (the addon has them; JS closes them at release). */
  fds?: Set<number>;
  /** The addon holds its layer directory (setDir). */
  dir?: boolean;
  /** Last answered as the layer's (not the commit's untouched file): a reset may take it away. */
  layer: boolean;
  /** A directory removed while the kernel still holds it: what fstat of an open handle shows (nlink 0). */
  removed?: Stat;
}

export const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
export const baseOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
export const childOf = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

export class NodeTable {
  private readonly byId = new Map<number, Node>();
  private readonly byPath = new Map<string, Node>();
  /** Non-directories by inode number: how a second name of a hard link finds the first's node. */
  private readonly byIno = new Map<number, Node>();
  private next = ROOT_ID + 1;

  constructor() {
    const root: Node = { id: ROOT_ID, paths: new Set(['/']), nlookup: 1, fmt: S_IFDIR, ino: 1, layer: false };
    this.byId.set(ROOT_ID, root);
    this.byPath.set('/', root);
  }

  get(id: number): Node {
    const n = this.byId.get(id);
    if (!n) throw FuseError.of('ENOENT');
    return n;
  }

  find(id: number): Node | undefined { return this.byId.get(id); }

  /**
   * The other nodes of the commit's inode `n` is a name of (its hard links are a node per
   * name): what the kernel must ask again for the link count when one of them goes or comes.
   */
  siblings(n: Node): Node[] {
    if (n.layer || n.fmt === S_IFDIR) return [];
    const out: Node[] = [];
    for (const o of this.byId.values()) if (o !== n && o.ino === n.ino && !o.layer && o.fmt !== S_IFDIR) out.push(o);
    return out;
  }

  /** A path of the node, or null once it has none. */
  pathOf(id: number): string | null {
    for (const p of this.get(id).paths) return p;
    return null;
  }

  path(id: number): string {
    const p = this.pathOf(id);
    if (p === null) throw FuseError.of('ENOENT');
    return p;
  }

  atPath(path: string): Node | undefined { return this.byPath.get(path); }

  /**
   * The node `path` is now, answering `st`: the one the path had if it is still the same kind
   * of file (a copy-up changes the inode number, not the file), else, for a file of the layer,
   * a live hard link's (same inode number), else a new one. Not yet counted as held by the
   * kernel (see taken). The commit's hard links stay a node per name (with the same inode
   * number and link count): the layer copies up a name, not an inode, so the kernel must say
   * which name it opens or changes.
   */
  nodeFor(path: string, st: Stat): Node {
    const fmt = st.mode & S_IFMT;
    let n = this.byPath.get(path);
    if (n && n.fmt !== fmt) { this.unlinked(path); n = undefined; }
    if (!n && fmt !== S_IFDIR && st.dev !== STABLE_CONTENT) {
      const linked = this.byIno.get(st.ino);
      if (linked && linked.fmt === fmt && linked.paths.size > 0 && !linked.paths.has(path)) n = linked;
    }
    if (!n) {
      n = { id: this.next++, paths: new Set(), nlookup: 0, fmt, ino: st.ino, layer: false };
      this.byId.set(n.id, n);
    }
    this.name(n, path, st);
    return n;
  }

  /** `path` is (also) a name of `n` now, which answers `st`. */
  name(n: Node, path: string, st: Stat): void {
    const had = this.byPath.get(path);
    if (had && had !== n) this.unlinked(path);
    n.paths.add(path);
    this.byPath.set(path, n);
    if (this.byIno.get(n.ino) === n) this.byIno.delete(n.ino);
    n.ino = st.ino;
    n.layer = st.dev !== STABLE_CONTENT;
    if (n.layer && n.fmt !== S_IFDIR) this.byIno.set(n.ino, n);
  }

  /** The kernel took `count` more references to the node. */
  taken(n: Node, count = 1): void { n.nlookup += count; }

  /** Drops a node made for an answer the kernel did not take; the node if dropped. */
  untaken(n: Node): Node | undefined { if (n.nlookup !== 0) return undefined; this.drop(n); return n; }

  /** The node if the kernel holds it no more (then it is gone). */
  forget(id: number, count: number): Node | undefined {
    const n = this.byId.get(id);
    if (!n || id === ROOT_ID) return undefined;
    n.nlookup -= count;
    if (n.nlookup > 0) return undefined;
    this.drop(n);
    return n;
  }

  all(): IterableIterator<Node> { return this.byId.values(); }

  private drop(n: Node): void {
    this.byId.delete(n.id);
    for (const p of n.paths) if (this.byPath.get(p) === n) this.byPath.delete(p);
    if (this.byIno.get(n.ino) === n) this.byIno.delete(n.ino);
  }

  /** The name is gone (unlink, rmdir, or another file took it). */
  unlinked(path: string): void {
    const n = this.byPath.get(path);
    if (!n) return;
    this.byPath.delete(path);
    n.paths.delete(path);
    // An unlinked file's inode number may be its file system's again soon: no link finds it.
    if (n.paths.size === 0 && this.byIno.get(n.ino) === n) this.byIno.delete(n.ino);
  }

  /** `from` is `to` now, and so is everything below it. */
  renamed(from: string, to: string): void {
    this.unlinked(to);
    this.move([[from, to]]);
  }

  /** `a` and `b` traded places (RENAME_EXCHANGE), each with everything below it. */
  exchanged(a: string, b: string): void {
    this.move([[a, b], [b, a]]);
  }

  /** Each subtree `from` is at `to` now: all taken off first, so two may trade places. */
  private move(moves: Array<[string, string]>): void {
    const moved: Array<[string, string, Node]> = [];
    for (const [from, to] of moves) {
      const prefix = from === '/' ? '/' : `${from}/`;
      for (const [p, n] of this.byPath) if (p === from || p.startsWith(prefix)) moved.push([p, to + p.slice(from.length), n]);
    }
    for (const [p, , n] of moved) { this.byPath.delete(p); n.paths.delete(p); }
    for (const [, q, n] of moved) { n.paths.add(q); this.byPath.set(q, n); }
  }

  /** Every node with a name, deepest names first (root excluded). */
  named(): Array<[string, Node]> {
    return [...this.byPath].filter(([p]) => p !== '/').sort((a, b) => b[0].length - a[0].length);
  }
}
