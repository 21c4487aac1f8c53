// Listings made ahead of a walk. A cold `find` or `tar` lists one directory after the other,
// and each listing the kernel asks for waits on the disk (the dirtree, the index) and on a trip
// to the event loop. Once the kernel has asked for a directory, the listings of its
// subdirectories are made here too, several at once, and given to the addon (offerList), which
// then answers the kernel's READDIRPLUS of them without JS; the addon says when the kernel
// first asks for one of those (Call.Visit), and the walk's next level is listed ahead from
// there. Only one level below the directories the kernel asked for, until the kernel has
// entered WALK directories: an `ls` lists no subtree. From then on the mount is being walked
// (find, tar, du), and listings are made down the subtrees, in the order a walk goes, up to
// WINDOW listings the kernel has not entered yet: a walk one level ahead of the kernel waited
// for the disk at nearly every directory's first subdirectory.

import { WalkOrder, type WalkKey } from './walk-order.js';

/** A directory's listing as the addon takes it, with the names of its subdirectories. */
export interface Built {
  listing: Buffer;
  subdirs: string[];
}

/** Listings made ahead at once: the disk serves that many reads in parallel, libuv's pool has 16 threads. */
const IN_FLIGHT = 8;
/**
 * Listings made ahead at once before the mount counts as walked: they share the event loop with
 * the listing the kernel waits for. An `ls` of /usr/bin, with 8 of /usr's other directories
 * (lib, share: thousands of entries each) listed ahead beside it, took 33–44 ms against 27–33 ms
 * with none.
 */
const IN_FLIGHT_BEFORE_WALK = 2;
/** Directories the kernel enters (asks for or visits) before the mount counts as walked. */
const WALK = 16;
/** Listings given ahead of a walk and not entered yet, at most. */
const WINDOW = 256;

const child = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

export class ListAhead {
  /** Directories whose listing is being made, for the kernel or ahead of it. */
  private readonly building = new Map<string, Promise<Built>>();
  /** Directories whose listing the addon has or is being given: not made again. */
  private readonly given = new Set<string>();
  /** Directories whose listing the addon took ahead. */
  private readonly taken = new Set<string>();
  /** Directories listed ahead whose visit has not come yet: their subdirectories. */
  private readonly pending = new Map<string, string[]>();
  /** Waiting to be listed ahead, in the order a walk reaches them. */
  private readonly queue = new WalkOrder();
  /** Directories queued or listed whose subdirectories are not queued yet: their place in a walk (the root's is []). */
  private readonly keys = new Map<string, WalkKey>();
  private running = 0;
  /** Directories the kernel has entered. */
  private entered = 0;
  /** Listings the addon took ahead that the kernel has not entered yet. */
  private unvisited = 0;
  /** Directories the kernel asked for while their listing was being made ahead: the addon, if it takes it, answers the kernel with it. */
  private readonly askedWhileBuilding = new Set<string>();

  /**
   * `build` makes a listing; `offer` gives one to the addon, and says whether it took it (not
   * when the kernel's own request got there first).
   */
  constructor(private readonly build: (path: string) => Promise<Built>, private readonly offer: (path: string, listing: Buffer) => boolean,
    /** False: list only what the kernel asks for (a lazy mount would fetch every subdirectory's dirtree). */
    private readonly ahead = true,
    /** Listings given ahead of a walk and not entered yet, at most. */
    private readonly window = WINDOW) {}

  /**
   * The listing the kernel asked for; its subdirectories are listed ahead once it is given.
   * Null when the addon took it ahead meanwhile (the request then has its answer).
   */
  asked(path: string): Promise<Built | null> {
    if (this.taken.has(path)) {
      this.visited(path);
      return Promise.resolve(null);
    }
    this.enter();
    if (this.building.has(path)) this.askedWhileBuilding.add(path);
    this.given.add(path);
    const b = this.listing(path);
    b.then((built) => this.below(path, built.subdirs), () => {});
    return b;
  }

  /** The kernel asked for a listing given ahead: the walk is there. */
  visited(path: string): void {
    if (this.taken.delete(path)) {
      this.unvisited--;
      this.enter();
    }
    const subdirs = this.pending.get(path);
    this.pending.delete(path);
    if (subdirs) this.below(path, subdirs);
    else this.pump();
  }

  /** Counts a directory the kernel entered; at the WALK-th, what was listed ahead is listed below too. */
  private enter(): void {
    if (++this.entered !== WALK) return;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [path, subdirs] of pending) this.below(path, subdirs);
  }

  /** A walk: listings go on down the subtrees, not one level below the kernel only. */
  private get walked(): boolean {
    return this.entered >= WALK;
  }

  private listing(path: string): Promise<Built> {
    let b = this.building.get(path);
    if (!b) {
      b = this.build(path).finally(() => this.building.delete(path));
      this.building.set(path, b);
    }
    return b;
  }

  private below(path: string, subdirs: string[]): void {
    const key = this.keys.get(path) ?? [];
    this.keys.delete(path);
    if (!this.ahead) return;
    subdirs.forEach((name, i) => {
      const p = child(path, name);
      if (this.given.has(p)) return;
      const k = [...key, i];
      this.keys.set(p, k);
      this.queue.push(p, k);
    });
    this.pump();
  }

  private pump(): void {
    while (this.running < (this.walked ? IN_FLIGHT : IN_FLIGHT_BEFORE_WALK) && this.unvisited + this.running < this.window && this.queue.size > 0) {
      const { path } = this.queue.pop()!;
      if (this.given.has(path)) continue;
      this.given.add(path);
      this.running++;
      this.listing(path).then((built) => {
        // Not taken: the kernel asked meanwhile (asked() lists below it) or the parent is gone.
        // Taken after the kernel asked: its request has its answer, and no visit will come.
        const asked = this.askedWhileBuilding.delete(path);
        if (!this.offer(path, built.listing) || asked) return;
        this.taken.add(path);
        this.unvisited++;
        if (built.subdirs.length === 0) return;
        if (this.walked) this.below(path, built.subdirs);
        else this.pending.set(path, built.subdirs);
      }, () => {
        // A listing that failed is asked for again by the kernel, and fails there with its error.
        this.given.delete(path);
        this.askedWhileBuilding.delete(path);
      }).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }
}
