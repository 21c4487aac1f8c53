// A lazy mount's objects fetched ahead of the reads that will want them, so that what a read
// waits for is a round trip at most, not one per directory on its way:
//
// - the commit's top directories: dirtrees and dirmetas, breadth first, from the mount's start,
//   down to the depth where an OS root's lookups mostly go (a listing of /usr/lib needs the
//   dirtrees of its subdirectories, for their link counts). All of them would be cheap in bytes
//   (a debootstrap minbase root has 680 dirtrees, 0.34 MB of its 94 MB) but not in CPU, which a
//   start shares with them: on a busy machine a start's daemon took 2.44 s of CPU with all of
//   them, 1.89 s with none, 2.1–2.4 s with these;
// - a walk's directories: those below each directory it enters, when it enters it;
// - a prefetch list's objects (prefetch-list.ts), in its order, from the mount's start;
// - a walk's content: when reads show a walk (tar, cp -a) going through a subtree in listing
//   order, every file of that subtree, depth first in the same order, many in flight, so the
//   walk finds them here instead of waiting for each.
//
// Everything goes through the repository's fetcher (verified, stored, one fetch per object at a
// time), with a bound of its own on requests in flight below the HTTP client's, so a read that
// needs an object nobody asked for yet still finds a free connection.
import fs from 'node:fs';
import type { Checksum } from './checksum.js';
import type { Repo } from './repo.js';
import type { ObjectType } from './objects/types.js';
import { kindType, type PrefetchEntry } from './prefetch-list.js';

/** Objects asked for at once by fetch-ahead; the lazy mount's client has more connections than this (128). */
const IN_FLIGHT = 32;
/**
 * A prefetch list's: what the start will read, so it may take most of the connections (with 32,
 * shared with the start's own reads on 32 connections, a list made a start 0.82x as long).
 */
const LIST_IN_FLIGHT = 96;
/** Levels of directories below the root fetched from the start: /usr/lib/x86_64-linux-gnu is at 3 (141 dirtrees of a minbase root). */
const START_DEPTH = 3;
/** A tree with more directories than this within START_DEPTH has the rest fetched when lookups need them. */
const MAX_TREES = 5_000;

type Job = () => Promise<unknown>;

/** Which source's jobs go first: a walk's (a reader waits right behind it), a prefetch list's, the metadata's. */
const enum Priority { Metadata, List, Walk }

/**
 * Jobs in order, produced as they are taken; `stopped` ends them early. `root`: the directory a
 * walk's fetch-ahead covers (with its subdirectories when `deep`); null for the others.
 */
interface Source { jobs: AsyncIterator<Job>; stopped: boolean; root: string | null; deep: boolean; prio: Priority; running: Set<Promise<unknown>>; done?: () => void }

const under = (path: string, root: string): boolean => root === '/' || path === root || path.startsWith(root + '/');

export class FetchAhead {
  private readonly sources: Source[] = [];
  private running = 0;
  private pulling = false;
  private closed = false;
  /** For the log: dirtrees and files made sure of, walks seen. */
  readonly stats = { trees: 0, files: 0, walks: 0 };

  constructor(private readonly repo: Repo) {}

  /** Fetches the dirtrees and dirmetas under `rootTree` down to START_DEPTH (up to MAX_TREES dirtrees), breadth first. */
  metadata(rootTree: Checksum): void {
    this.add(null, false, Priority.Metadata, this.breadthFirst(rootTree));
  }

  /**
   * Fetches a prefetch list's objects that are not here, in its order; resolves with how many
   * it asked for once all have been (failures are left for the reads that need them).
   */
  list(entries: readonly PrefetchEntry[]): Promise<number> {
    let asked = 0;
    const repo = this.repo;
    async function* jobs(): AsyncGenerator<Job> {
      for (const e of entries) {
        const type: ObjectType = kindType(e.kind);
        yield async () => {
          if (await fs.promises.access(repo.objectPath(e.checksum, type)).then(() => true, () => false)) return;
          asked++;
          // A header only (what a listing needed), else the whole object.
          await (e.kind === 'h' ? repo.loadFileMeta(e.checksum) : repo.ensureObject(type, e.checksum));
        };
      }
    }
    return new Promise((resolve) => this.add(null, false, Priority.List, jobs(), () => resolve(asked)));
  }

  /**
   * Fetches the content of every file under the directory `tree` at `path`, depth first in
   * listing order (only its own files unless `deep`); `from` (names of directories below
   * `path`) skips what comes before that place, which the walk has passed. A walk replaces the
   * walks it covers.
   */
  walk(path: string, tree: Checksum, deep: boolean, from: string[] = []): void {
    if (this.covers(path)) return;
    for (const s of this.walks()) if (deep ? under(s.root!, path) : s.root === path) s.stopped = true;
    this.stats.walks++;
    this.add(path, deep, Priority.Walk, this.depthFirst(tree, deep, from));
  }

  /** True while a walk fetches ahead the files of directory `path`. */
  covers(path: string): boolean {
    return this.walks().some((s) => (s.deep ? under(path, s.root!) : path === s.root));
  }

  private walks(): Source[] {
    return this.sources.filter((s) => !s.stopped && s.root !== null);
  }

  close(): void {
    this.closed = true;
    for (const s of this.sources) { s.stopped = true; s.done?.(); }
  }

  private add(root: string | null, deep: boolean, prio: Priority, jobs: AsyncGenerator<Job>, done?: () => void): void {
    if (this.closed) { done?.(); return; }
    this.sources.push({ jobs, stopped: false, root, deep, prio, running: new Set(), ...(done ? { done } : {}) });
    void this.pull();
  }

  /** Starts jobs while there is room, from the first source by priority, the newest of equals (the walk a read just showed). */
  private async pull(): Promise<void> {
    if (this.pulling) return;
    this.pulling = true;
    try {
      while (!this.closed) {
        const s = this.sources.reduce<Source | undefined>((best, x) => (!best || x.prio >= best.prio ? x : best), undefined);
        if (!s || this.running >= (s.prio === Priority.List ? LIST_IN_FLIGHT : IN_FLIGHT)) break;
        const next = s.stopped ? { done: true as const, value: undefined } : await s.jobs.next().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) {
          this.sources.splice(this.sources.indexOf(s), 1);
          if (s.done) void Promise.all(s.running).then(s.done);
          continue;
        }
        this.running++;
        const job = next.value().catch(() => {}).finally(() => { this.running--; s.running.delete(job); void this.pull(); });
        s.running.add(job);
      }
    } finally {
      this.pulling = false;
    }
  }

  private async *breadthFirst(rootTree: Checksum): AsyncGenerator<Job> {
    let level: Checksum[] = [rootTree];
    const seen = new Set<Checksum>(level);
    for (let depth = 1; depth <= START_DEPTH && level.length > 0; depth++) {
      const next: Checksum[] = [];
      for (const tree of level) {
        // Asked for as a job of the level before (or the mount's root): here, or on its way.
        const t = await this.repo.loadDirTree(tree).catch(() => null);
        if (!t) continue;
        for (const d of t.dirs) {
          yield () => this.repo.loadDirMeta(d.meta);
          if (seen.has(d.tree) || seen.size >= MAX_TREES) continue;
          seen.add(d.tree);
          next.push(d.tree);
          yield () => this.repo.loadDirTree(d.tree).then(() => { this.stats.trees++; });
        }
      }
      level = next;
    }
  }

  private async *depthFirst(tree: Checksum, deep: boolean, from: string[]): AsyncGenerator<Job> {
    const t = await this.repo.loadDirTree(tree);
    // Its subdirectories' dirtrees, while its files are fetched: the walk goes into them next.
    if (deep) for (const d of t.dirs) this.repo.loadDirTree(d.tree).catch(() => {});
    const [first, ...rest] = from;
    const start = first === undefined ? -1 : t.dirs.findIndex((d) => d.name === first);
    if (start < 0) {
      for (const f of t.files) yield () => this.repo.ensureObject('file', f.checksum).then(() => { this.stats.files++; });
    }
    if (!deep) return;
    for (let i = Math.max(start, 0); i < t.dirs.length; i++) {
      yield* this.depthFirst(t.dirs[i]!.tree, true, i === start ? rest : []);
    }
  }
}
