// A commit's answers to the addon's calls (native/ll ops.c): a directory's listing (names,
// attributes, symlink targets and xattrs of every entry, made once and kept by the addon, the
// listings of its subdirectories made ahead: list-ahead.ts), and the bytes of a file whose
// checked object file the addon does not know yet. A commit's mount (serve-frozen.ts) answers
// nothing else; a root's mount (serve-root.ts) answers these for its grafted subtrees, which
// are its commit's (native/ll/grafts.c).
import { constants as osConstants } from 'node:os';
import { FuseError, type Stat } from '../types.js';
import type { ReadBackend } from '../backend.js';
import { CommitFs } from '../commit-fs.js';
import { isLnk, S_IFDIR, S_IFMT } from '../../store/objects/types.js';
import { Call, encodeEntries, type LlAddon, type LlEntry, type LlMount } from './binding.js';
import { ListAhead, type Built } from './list-ahead.js';
import { WalkAhead } from './walk-ahead.js';

const ERRNO = osConstants.errno as Record<string, number>;

export function errnoOf(err: unknown, what: string, log: (msg: string) => void): number {
  if (err instanceof FuseError) return err.errno;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ERRNO[code] !== undefined) return ERRNO[code]!;
  log(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  return ERRNO.EIO!;
}

const child = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** What the addon keeps of one path besides its attributes. */
export async function extrasOf(b: ReadBackend, path: string, stat: Stat): Promise<Pick<LlEntry, 'symlink' | 'xattrs'>> {
  if (b instanceof CommitFs) {
    // One resolve (a cache hit right after the listing) instead of a call per attribute.
    const n = await b.resolve(path);
    return { ...(n.kind === 'file' && isLnk(n.meta.mode) ? { symlink: n.meta.symlinkTarget } : {}), xattrs: n.meta.xattrs };
  }
  const symlink = isLnk(stat.mode) ? await b.readlink(path) : undefined;
  const xattrs: Array<[string, Buffer]> = [];
  for (const k of await b.listxattr(path)) {
    const v = await b.getxattr(path, k);
    if (v) xattrs.push([k, v]);
  }
  return { ...(symlink !== undefined ? { symlink } : {}), xattrs };
}

/** Entries resolved at once: a directory of 18k entries (man1) must not hold 18k pending promises and records. */
const BATCH = 256;

/** The listing of the directory at `path` as the addon takes it. */
export async function listing(b: ReadBackend, path: string): Promise<Built> {
  if (b instanceof CommitFs) return commitListing(b, path);
  const l = await b.readdir(path);
  // The addon keeps a listing for the mount's life: one with entries missing (a damaged object,
  // a fetch that failed) is not given, so that the next lookup or readdir asks again.
  if (l.damaged) throw new FuseError('EIO');
  const stats = l.stats ?? await Promise.all(l.names.map((n) => b.getattr(child(path, n))));
  const out = new EntryWriter();
  const subdirs: string[] = [];
  l.names.forEach((n, i) => { if ((stats[i]!.mode & S_IFMT) === S_IFDIR) subdirs.push(n); });
  for (let at = 0; at < l.names.length; at += BATCH) {
    const names = l.names.slice(at, at + BATCH);
    const entries = await Promise.all(names.map(async (name, i): Promise<LlEntry | null> => {
      const stat = stats[at + i]!;
      // An entry whose target or xattrs cannot be read is left out, as a damaged one is.
      return extrasOf(b, child(path, name), stat).then((x) => ({ name, stat, ...x }), () => null);
    }));
    const kept = entries.filter((e): e is LlEntry => e !== null);
    out.add(encodeEntries(kept, false), kept.length);
  }
  return { listing: out.done(), subdirs };
}

/**
 * A commit's listing from its entries' nodes, in one pass: each entry's target and xattrs are
 * its node's (a call and a promise per entry cost a cold find of /usr, 139,000 entries, more
 * than the rest of its listing).
 */
async function commitListing(b: CommitFs, path: string): Promise<Built> {
  const { names, nodes, damaged } = await b.children(path);
  if (damaged > 0) throw new FuseError('EIO');
  const subdirs: string[] = [];
  const entries = nodes.map((n, i): LlEntry => {
    const name = names[i]!;
    if (n.kind === 'dir') subdirs.push(name);
    return { name, stat: b.statOf(n), ...(n.kind === 'file' && isLnk(n.meta.mode) ? { symlink: n.meta.symlinkTarget } : {}), xattrs: n.meta.xattrs };
  });
  return { listing: encodeEntries(entries, true), subdirs };
}

/** A listing as the addon takes it (encodeEntries(all, true)), built batch by batch. */
class EntryWriter {
  private readonly parts: Buffer[] = [];
  private count = 0;
  add(records: Buffer, count: number): void {
    this.parts.push(records);
    this.count += count;
  }
  /** One buffer of exactly the listing's size: most directories are a few hundred bytes. */
  done(): Buffer {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(this.count, 0);
    return Buffer.concat([head, ...this.parts]);
  }
}

const EMPTY = Buffer.alloc(0);

/** Answers a commit's List, Visit, Read and OpenContent calls from `backend`; `mount` is the mount once it is made. */
export class CommitCalls {
  private readonly ahead: ListAhead;
  private readonly walk: WalkAhead | undefined;

  constructor(private readonly backend: ReadBackend, private readonly ll: LlAddon, private readonly mount: () => LlMount | undefined,
    private readonly count: (op: string) => void, private readonly log: (msg: string) => void) {
    // 'readdir' counts listings made (once per directory, asked for or ahead), 'readdir-ahead' those given ahead.
    this.ahead = new ListAhead((path) => { count('readdir'); return listing(backend, path); }, (path, buf) => {
      const m = mount();
      const taken = m !== undefined && ll.offerList(m, path, buf);
      if (taken) count('readdir-ahead');
      return taken;
    }, !(backend instanceof CommitFs && backend.fetches));
    this.walk = backend instanceof CommitFs
      ? new WalkAhead(backend, () => { const m = mount(); return m !== undefined ? ll.requestCounts(m).read ?? 0 : 0; }, (file) => ll.readAhead(file), log)
      : undefined;
  }

  /** Answers a call of a commit's (List, Visit, Read, OpenContent); false for any other. */
  handle(kind: Call, id: number, path: string | undefined, size: number, offset: number): boolean {
    const { ll, backend, log } = this;
    switch (kind) {
      case Call.List:
        this.ahead.asked(path!).then((b) => {
          ll.replyList(id, b?.listing ?? null, 0);
          this.walk?.enter(path!);
        }, (err: unknown) => ll.replyList(id, null, errnoOf(err, `readdir ${path}`, log)));
        return true;
      case Call.Visit:
        this.ahead.visited(path!);
        this.walk?.enter(path!);
        return true;
      case Call.Read: {
        this.count('read');
        const failed = (err: unknown): void => ll.replyRead(id, null, -errnoOf(err, `read ${path}`, log));
        const inJs = (): void => {
          const buf = Buffer.allocUnsafe(size);
          backend.read(path!, 0, buf, size, offset).then((n) => ll.replyRead(id, buf, n), failed);
        };
        // The object file checked off the event loop and published: the addon reads it, as it
        // does every later read (JS reads it only if it could not be published).
        if (backend instanceof CommitFs && backend.servesCheckedFiles) {
          backend.checkedFile(path!, offset).then(() => { if (!ll.replyReadContent(id)) inJs(); }, failed);
        } else inJs();
        return true;
      }
      case Call.OpenContent: {
        const failed = (err: unknown): void => ll.replyRead(id, null, -errnoOf(err, `open ${path}`, log));
        const cached = (): void => ll.replyRead(id, EMPTY, 0);
        if (backend instanceof CommitFs && backend.servesCheckedFiles) {
          backend.checkedFile(path!, 0).then(() => { if (!ll.replyReadContent(id)) cached(); }, failed);
        } else cached();
        return true;
      }
      default:
        return false;
    }
  }
}
