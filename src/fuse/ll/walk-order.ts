// Directories waiting to be listed ahead, taken in the order a walk reaches them. A walk (find,
// tar, du) goes depth first through each directory's subdirectories in listing order, so a
// directory's place is the list of its ancestors' places among their parents' subdirectories:
// the smallest such key comes next (a parent before its children, a subtree before the next
// sibling). Listings finish out of order, several at a time; a plain stack then ran ahead into
// whichever subtree finished first (/usr/share) and left the walk's next directories
// (/usr/lib's) waiting behind it.

/** A directory's place in a depth-first walk: its index among its parent's subdirectories, for each level. */
export type WalkKey = readonly number[];

function before(a: WalkKey, b: WalkKey): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return a.length < b.length;
}

/** A binary min-heap of paths by walk key. */
export class WalkOrder {
  private readonly paths: string[] = [];
  private readonly keys: WalkKey[] = [];

  get size(): number {
    return this.paths.length;
  }

  push(path: string, key: WalkKey): void {
    let i = this.paths.length;
    this.paths.push(path);
    this.keys.push(key);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(this.keys[i]!, this.keys[up]!)) break;
      this.swap(i, up);
      i = up;
    }
  }

  /** The path a walk reaches first, with its key; undefined when empty. */
  pop(): { path: string; key: WalkKey } | undefined {
    if (this.paths.length === 0) return undefined;
    const top = { path: this.paths[0]!, key: this.keys[0]! };
    const lastPath = this.paths.pop()!, lastKey = this.keys.pop()!;
    if (this.paths.length > 0) {
      this.paths[0] = lastPath;
      this.keys[0] = lastKey;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.paths.length && before(this.keys[l]!, this.keys[m]!)) m = l;
        if (r < this.paths.length && before(this.keys[r]!, this.keys[m]!)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(i: number, j: number): void {
    [this.paths[i], this.paths[j]] = [this.paths[j]!, this.paths[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
}
