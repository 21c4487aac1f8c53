// Listings made ahead of a walk. A cold `find` or `tar` lists one directory after the other,
// and each listing the kernel asks for waits on the disk (the dirtree, the index) and on a trip
// to the event loop. Once the kernel has asked for a directory, the listings of its
// subdirectories are made here too, several at once, and given to the addon (offerList), which
// then answers the kernel's READDIRPLUS of them without JS; the addon says when the kernel
// first asks for one of those (Call.Visit), and the walk's next level is listed ahead from
// there. Only one level below the directories the kernel asked for: an `ls` lists no subtree.

/** A directory's listing as the addon takes it, with the names of its subdirectories. */
export interface Built {
  listing: Buffer;
  subdirs: string[];
}

/** Listings made ahead at once: the disk serves that many reads in parallel, libuv's pool has 16 threads. */
const IN_FLIGHT = 8;

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
  /** Waiting to be listed ahead; the newest first (a walk goes depth first). */
  private readonly stack: string[] = [];
  private running = 0;

  /**
   * `build` makes a listing; `offer` gives one to the addon, and says whether it took it (not
   * when the kernel's own request got there first).
   */
  constructor(private readonly build: (path: string) => Promise<Built>, private readonly offer: (path: string, listing: Buffer) => boolean,
    /** False: list only what the kernel asks for (a lazy mount would fetch every subdirectory's dirtree). */
    private readonly ahead = true) {}

  /**
   * The listing the kernel asked for; its subdirectories are listed ahead once it is given.
   * Null when the addon took it ahead meanwhile (the request then has its answer).
   */
  asked(path: string): Promise<Built | null> {
    if (this.taken.has(path)) {
      this.visited(path);
      return Promise.resolve(null);
    }
    this.given.add(path);
    const b = this.listing(path);
    b.then((built) => this.below(path, built.subdirs), () => {});
    return b;
  }

  /** The kernel asked for a listing given ahead: the walk is there. */
  visited(path: string): void {
    const subdirs = this.pending.get(path);
    this.pending.delete(path);
    if (subdirs) this.below(path, subdirs);
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
    if (!this.ahead) return;
    for (let i = subdirs.length - 1; i >= 0; i--) {
      const p = child(path, subdirs[i]!);
      if (!this.given.has(p)) this.stack.push(p);
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < IN_FLIGHT && this.stack.length > 0) {
      const path = this.stack.pop()!;
      if (this.given.has(path)) continue;
      this.given.add(path);
      this.running++;
      this.listing(path).then((built) => {
        // Not taken: the kernel asked meanwhile (asked() lists below it) or the parent is gone.
        if (!this.offer(path, built.listing)) return;
        this.taken.add(path);
        if (built.subdirs.length > 0) this.pending.set(path, built.subdirs);
      }, () => {
        // A listing that failed is asked for again by the kernel, and fails there with its error.
        this.given.delete(path);
      }).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }
}
