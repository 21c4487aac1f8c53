// Serves a root (commit + writable layer) through native/ll's root ops. JS holds the node
// table (nodes.ts) and answers each request by path through the Backend; the addon reads and
// writes the descriptors JS hands it at open and create itself. The kernel keeps what the
// commit gives (entries and attributes of untouched paths for a day, pages across opens,
// symlink targets); what the layer holds it keeps for a second, and whatever changes beneath
// it that it did not do itself (reload: a layer reset, another commit) it is told at once.
// A subtree nothing can change (Backend.untouched) is grafted: its directory's name is
// answered with a node of the addon's commit tree, and from there down the addon answers as
// on a commit's mount, with commit-calls.ts listing and reading for it (native/ll/grafts.c).
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DIRECT_FH, FuseError, ID_UNCHANGED, LAYER_ONLY_DIR, STABLE_CONTENT, type FuseContext, type FuseMount, type Stat, type TimeSpec } from '../types.js';
import type { Backend, WriteBackend } from '../backend.js';
import { HacktreeError } from '../../errors.js';
import type { ServeOptions } from '../serve.js';
import { Call, ENTRY_FIELDS, loadLl, Note, Num, OPEN_CONTENT, OPEN_KEEP_CACHE, OPEN_META, RwCall, type LlMount } from './binding.js';
import { CommitCalls, errnoOf, listing } from './commit-calls.js';
import { baseOf, childOf, NodeTable, parentOf, ROOT_ID, type Node } from './nodes.js';
import { mountOptions, unmountAt } from './serve-frozen.js';
import { widenReadahead } from './kernel-readahead.js';
import { timeParts } from '../../overlay/file-times.js';
import { EMPTY_DIRTREE } from '../../store/objects/dirtree.js';

/** The commit never changes under a name the layer has not touched. */
const FOREVER = 86400;
/** What the layer holds: the kernel's own changes keep it true; a second bounds anything else. */
const LAYER_TIMEOUT = 1;

const S_IFMT = 0o170000, S_IFDIR = 0o040000;
const ENOENT = FuseError.of('ENOENT').errno;
const O_ACCMODE = 3;
const { O_TRUNC } = fs.constants;
const RENAME_EXCHANGE = 2;
/** setattr's to_set bits (fuse_lowlevel.h FUSE_SET_ATTR_*). */
const SET_MODE = 1, SET_UID = 2, SET_GID = 4, SET_SIZE = 8, SET_ATIME = 16, SET_MTIME = 32, SET_ATIME_NOW = 128, SET_MTIME_NOW = 256;

const fsOpen = promisify(fs.open);
/** open(2) flags of a directory the addon only fstats and looks names up in. */
const O_PATH = 0o10000000, { O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** RwCall's names, for the log. */
const OP_NAMES = ['lookup', 'forget', 'getattr', 'setattr', 'readlink', 'mknod', 'mkdir', 'unlink', 'rmdir', 'symlink', 'rename', 'link',
  'open', 'read', 'opendir', 'readdir', 'releasedir', 'getxattr', 'listxattr', 'setxattr', 'removexattr', 'create', 'release'];

/** A root's mount: also told when the layer or the commit changed beneath it. */
export interface RootMount extends FuseMount {
  /** Serves `backend` from now on, and has the kernel drop all it knew before resolving. */
  reload(backend: Backend): Promise<void>;
}

/** A time as whole seconds (at `sec`) and nanoseconds (at `nsec`): exact from `ns`, else from a double of ms. */
function timeInto(out: Float64Array, sec: number, nsec: number, ms: number, ns: bigint | undefined): void {
  [out[sec], out[nsec]] = timeParts(ns ?? ms);
}

/** ENTRY_FIELDS numbers of `n` answering `st` (rw_replies.c's layout). */
function entryOf(out: Float64Array, at: number, id: number, st: Stat): void {
  const t = st.dev === STABLE_CONTENT ? FOREVER : LAYER_TIMEOUT;
  out[at] = id; out[at + 1] = t; out[at + 2] = t;
  out[at + 3] = st.ino; out[at + 4] = st.mode; out[at + 5] = st.nlink; out[at + 6] = st.uid; out[at + 7] = st.gid;
  out[at + 8] = st.rdev ?? 0; out[at + 9] = st.size; out[at + 10] = st.blocks ?? Math.ceil(st.size / 512);
  out[at + 11] = st.blksize ?? 4096;
  timeInto(out, at + 12, at + 16, st.atime, st.ns?.[0]);
  timeInto(out, at + 13, at + 17, st.mtime, st.ns?.[1]);
  timeInto(out, at + 14, at + 18, st.ctime, st.ns?.[2]);
  // Still the commit's file or directory: the addon answers its GETATTR (the kernel asks again
  // for atime after each read or listing on a writable mount), opens a file for reading and
  // reads its object by itself. Whatever may change it drops that first (facts.c).
  out[at + 15] = st.dev === STABLE_CONTENT && ((st.mode & S_IFMT) === S_IFREG || (st.mode & S_IFMT) === S_IFDIR) ? 1 : 0;
}

/**
 * A regular file of the layer that takes writes, whose Stat.dev names its real inode (see
 * Stat.dev): its mode, owner, times and size live on its real file, which the addon then
 * changes through the handle itself.
 */
const S_IFREG = 0o100000;
const ownsMeta = (st: Stat): boolean => (st.mode & S_IFMT) === S_IFREG && st.dev !== undefined && st.dev !== 0 && st.dev !== STABLE_CONTENT && st.dev !== LAYER_ONLY_DIR;

const one = (id: number, st: Stat): Float64Array => { const e = new Float64Array(ENTRY_FIELDS); entryOf(e, 0, id, st); return e; };

/** A graft's entry: the addon's commit node, kept by the kernel for a day; the addon keeps no facts of it (ops.c answers). */
function graftEntry(out: Float64Array, at: number, id: number, st: Stat): void {
  entryOf(out, at, id, st);
  out[at + 15] = 0;
}

/**
 * A booted system's / (ServeOptions.bootRoot). systemd's shutdown stops every process, the
 * daemon serving / too (kill(-1, SIGSTOP)), while it looks through /proc for what to kill, and
 * for a daemon it spares it stats /proc/N/root, a path walk through /; its in_initrd() asks
 * for /etc/initrd-release in that window. Nothing of such a walk may ask the stopped daemon, or
 * PID 1 waits for ever. So the kernel keeps the root directory's entries (/proc, /sys, /dev,
 * /run...: mountpoints, which a booted system does not rename), every directory's attributes,
 * and names not found, for FOREVER instead of the layer's second. What the kernel changes
 * itself (a create, a rename, an unlink) it knows of anyway.
 */
function bootTimes(e: Float64Array, at: number, path: string | null, st: Stat): void {
  if ((st.mode & S_IFMT) === S_IFDIR) e[at + 2] = FOREVER;
  if (path !== null && path !== '/' && parentOf(path) === '/') e[at + 1] = FOREVER;
}

/** A name not found, kept by the kernel as long as a commit's entry (bootRoot). */
const NEGATIVE = ((): Float64Array => { const e = new Float64Array(ENTRY_FIELDS); e[1] = FOREVER; return e; })();
const timeOf = (v: number): TimeSpec => (v === -2 ? 'now' : v === -3 ? 'omit' : v);

/**
 * A directory handle: its listing as of opendir, so offsets stay meaningful between READDIRs,
 * with the commit nodes of its grafted subdirectories (0 for others).
 */
interface DirHandle { path: string; names: string[]; stats: Stat[]; grafts: number[] }

/**
 * Grafts start below the top level: a top-level directory of a root is where file systems are
 * mounted (/proc, /boot...), and a reload has the kernel drop a graft's name, which would take
 * a mount on it away.
 */
const graftDepth = (path: string): boolean => path.indexOf('/', 1) > 0;

export async function serveRoot(first: Backend, mountpoint: string, o: ServeOptions): Promise<RootMount> {
  const ll = loadLl();
  const boot = o.bootRoot === true;
  /** An entry or attributes of the node at `path` (null: unlinked) as the reply gives them. */
  const reply = (id: number, path: string | null, st: Stat): Float64Array => {
    const e = one(id, st);
    if (boot) bootTimes(e, 0, path, st);
    return e;
  };
  let b = first;
  const nodes = new NodeTable();
  const dirs = new Map<number, DirHandle>();
  let nextDir = 1;
  /** Checked object files of commit files by path (CommitFs's contentChecked): opened for the addon to read. */
  let content = new Map<string, string>();
  const counts = o.counts ?? {};
  const count = (op: string): void => { counts[op] = (counts[op] ?? 0) + 1; };
  let ready: () => void = () => {};
  const inited = new Promise<void>((res) => { ready = res; });
  let m: LlMount | undefined;

  /**
   * The grafts of this commit: their paths (whose names a reload has the kernel drop), the
   * listings of the commit's directories above them, given to the addon (offerList), and the
   * calls of the addon's commit tree.
   */
  let grafted = new Set<string>();
  let aboveGrafts = new Map<string, Promise<void>>();
  const callsOf = (x: Backend): CommitCalls | undefined => (x.commitTree ? new CommitCalls(x.commitTree, ll, () => m, count, o.log) : undefined);
  let commitCalls = callsOf(b);
  /** The commit's directory above a graft, listed for the addon (its parents first). */
  const listAbove = (dir: string): Promise<void> => {
    let p = aboveGrafts.get(dir);
    if (!p) {
      const commit = b.commitTree!;
      p = (dir === '/' ? Promise.resolve() : listAbove(parentOf(dir))).then(async () => { ll.offerList(m!, dir, (await listing(commit, dir)).listing); });
      p.catch(() => aboveGrafts.delete(dir));
      aboveGrafts.set(dir, p);
    }
    return p;
  };
  /** The addon's commit node for the directory at `path` if its subtree can be grafted, else 0. */
  const graftOf = async (path: string, st: Stat): Promise<number> => {
    if (!m || !b.commitTree || !b.untouched || st.dev !== STABLE_CONTENT || (st.mode & S_IFMT) !== S_IFDIR || !graftDepth(path) || !b.untouched(path)) return 0;
    // An empty directory gains nothing, and is where something may be mounted. (Its node is
    // its parent's entry: nothing is fetched for it on a lazy mount.)
    const n = await b.commitTree.resolve(path);
    if (n.kind !== 'dir' || n.tree === EMPTY_DIRTREE) return 0;
    await listAbove(parentOf(path));
    const id = ll.graft(m, path);
    if (id !== 0) grafted.add(path);
    return id;
  };
  /** The path of a node id: the node table's, or the addon's for a commit node (rename and link may name one). */
  const pathOf = (id: number): string => (m && ll.commitPath(m, id)) ?? nodes.path(id);

  /** Notes for the kernel, sent in order, one batch at a time (notify.c runs each on a worker thread). */
  let notifying: Promise<void> = Promise.resolve();
  const tell = (notes: number[], names: string[]): Promise<void> => {
    if (!m || notes.length === 0) return notifying;
    const mount = m;
    notifying = notifying.then(() => ll.notify(mount, Float64Array.from(notes), names)).catch((err: unknown) => o.log(`notify failed: ${String(err)}`));
    return notifying;
  };
  const invalInode = (n: Node | undefined): void => { if (n) { dropped(n); void tell([Note.Inode, n.id, 0, 0], []); } };
  /** Before an op that may make the node at `path` another file (rename, unlink). */
  const changing = (path: string): void => dropped(nodes.atPath(path));

  // An op's side effects the kernel cannot know of (a directory copied up on the way): their
  // attributes (inode number) are asked again.
  const observed = (backend: Backend): void => backend.observe?.((path) => invalInode(nodes.atPath(path)));
  observed(b);

  /** The backend's write op `k`, bound; EROFS where it has none. */
  const op = <K extends keyof WriteBackend>(k: K): NonNullable<WriteBackend[K]> => {
    const f = b[k];
    if (!f) erofs();
    return (f as (...a: unknown[]) => unknown).bind(b) as NonNullable<WriteBackend[K]>;
  };

  const ctxOf = (nums: number[]): FuseContext => ({ uid: nums[Num.Uid]!, gid: nums[Num.Gid]!, pid: nums[Num.Pid]!, umask: nums[Num.Umask]! });

  /** Answers an entry for `path` (now a name of a node) and counts the kernel's reference. */
  /**
   * A directory the layer holds has its real directory's attributes (and, when only the layer
   * has it, exactly its names): the addon answers its GETATTR and misses itself.
   */
  const layerDirOf = (n: Node, path: string, st: Stat): void => {
    if (n.dir || (st.mode & S_IFMT) !== S_IFDIR || (st.dev !== 0 && st.dev !== LAYER_ONLY_DIR) || !b.layerDir) return;
    let fd: number;
    try { fd = fs.openSync(join(b.layerDir, path), O_PATH | O_DIRECTORY | O_NOFOLLOW); } catch { return; }
    ll.setDir(n.id, fd, st.ino, st.dev === LAYER_ONLY_DIR);
    n.dir = true;
  };
  /** Whatever the addon knew of a node it must not answer for any more. */
  const dropped = (n: Node | undefined): void => { if (n) { ll.dropFacts(n.id); n.dir = false; } };

  const entry = async (path: string): Promise<Float64Array> => (await entryStat(path))[0];
  const entryStat = async (path: string, known?: Stat): Promise<[Float64Array, Stat]> => {
    const st = known ?? await b.getattr(path);
    const n = nodes.nodeFor(path, st);
    nodes.taken(n);
    layerDirOf(n, path, st);
    return [reply(n.id, path, st), st];
  };

  const attrOf = async (n: Node, given: number): Promise<Stat> => {
    const path = nodes.pathOf(n.id);
    // Without a name (unlinked while open), through any descriptor the kernel still holds.
    let fd = given;
    if (fd < 0 && path === null) for (const f of n.fds ?? []) { fd = f; break; }
    if (fd >= 0 && b.fgetattr) return b.fgetattr(path, DIRECT_FH + fd);
    if (path === null && n.removed) return n.removed;
    if (path === null) throw FuseError.of('ENOENT');
    return b.getattr(path);
  };

  const setattr = async (n: Node, nums: number[], ctx: FuseContext): Promise<Stat> => {
    const set = nums[Num.ToSet]!, fd = nums[Num.Fd]!;
    const path = nodes.pathOf(n.id);
    const need = (): string => { if (path === null) throw FuseError.of('ENOENT'); return path; };
    // In libfuse's order: mode, owner, size, times.
    if (set & SET_MODE) await op('chmod')(need(), nums[Num.SetMode]! & 0o7777, ctx);
    if (set & (SET_UID | SET_GID)) await op('chown')(need(), set & SET_UID ? nums[Num.SetUid]! : ID_UNCHANGED, set & SET_GID ? nums[Num.SetGid]! : ID_UNCHANGED, ctx);
    if (set & SET_SIZE) {
      if (fd >= 0 && b.ftruncate) await b.ftruncate(DIRECT_FH + fd, nums[Num.SetSize]!);
      else await op('truncate')(need(), nums[Num.SetSize]!, ctx);
    }
    if (set & (SET_ATIME | SET_MTIME | SET_ATIME_NOW | SET_MTIME_NOW)) await op('utimens')(need(), timeOf(nums[Num.Atime]!), timeOf(nums[Num.Mtime]!), ctx);
    return attrOf(n, fd);
  };

  const held = (n: Node, fd: number): number => { (n.fds ??= new Set()).add(fd); return fd; };

  const open = async (n: Node, flags: number, ctx: FuseContext): Promise<[number, number, number]> => {
    const path = nodes.path(n.id);
    const writes = (flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0;
    const fh = b.open ? await b.open(path, flags, ctx) : 0;
    // Opened for writing, a commit file is the layer's now (another inode number).
    if (writes) invalInode(n);
    if (fh >= DIRECT_FH) {
      const fd = held(n, fh - DIRECT_FH);
      const st = await b.getattr(path).catch(() => null);
      return st && ownsMeta(st) ? [fd, OPEN_KEEP_CACHE | OPEN_META, st.ino] : [fd, OPEN_KEEP_CACHE, 0];
    }
    if (fh !== 0) throw FuseError.of('EIO');
    // Still the commit's file: its checked object, if read before, is read by the addon.
    const file = content.get(path);
    if (file !== undefined) {
      try { return [await fsOpen(file, 'r'), OPEN_KEEP_CACHE | OPEN_CONTENT, 0]; } catch { content.delete(path); }
    }
    return [-1, OPEN_KEEP_CACHE, 0];
  };

  const readdir = (id: number, nums: number[]): void => {
    const d = dirs.get(nums[Num.Fd]!);
    if (!d) { ll.replyErr(id, FuseError.of('EBADF').errno); return; }
    const plus = nums[Num.Flags] === 1;
    const from = nums[Num.Offset]!;
    // At most what fits: an entry takes 24 bytes at least (40 with its attributes in PLUS form... 150).
    const max = Math.max(1, Math.floor(nums[Num.Size]! / (plus ? 152 : 32)) + 1);
    const names = d.names.slice(from, from + max);
    const out = new Float64Array(names.length * ENTRY_FIELDS);
    // "." and ".." take no node: the kernel makes no dentries of them. The listing is as of
    // opendir: by now a writer may have made, removed or replaced any of its names, and an entry
    // with a node would have the kernel (and the node table) take that old state for the name's
    // current one. So only a commit's entry that neither knows yet gets a node; the rest go as
    // plain names (node 0), which the kernel looks up when it needs them.
    const made = names.map((name, i): Node | undefined => {
      const st = d.stats[from + i]!;
      const path = childOf(d.path, name);
      const graft = plus ? d.grafts[from + i]! : 0;
      if (graft !== 0) { graftEntry(out, i * ENTRY_FIELDS, graft, st); return undefined; }
      const fresh = plus && name !== '.' && name !== '..' && st.dev === STABLE_CONTENT && !nodes.atPath(path);
      const n = fresh ? nodes.nodeFor(path, st) : undefined;
      entryOf(out, i * ENTRY_FIELDS, n?.id ?? 0, st);
      if (boot) bootTimes(out, i * ENTRY_FIELDS, name === '.' || name === '..' ? null : path, st);
      return n;
    });
    const taken = ll.replyDir(id, 0, names, out, from);
    made.forEach((n, i) => {
      if (!n) return;
      if (i >= taken) { dropped(nodes.untaken(n)); return; }
      nodes.taken(n);
      layerDirOf(n, childOf(d.path, names[i]!), d.stats[from + i]!);
    });
  };

  const run = async (kind: RwCall, id: number, ino: number, ino2: number, s1: string | undefined, s2: string | undefined, nums: number[], data: Buffer | undefined): Promise<void> => {
    const ctx = ctxOf(nums);
    switch (kind) {
      case RwCall.Lookup: {
        count('lookup');
        const path = childOf(nodes.path(ino), s1!);
        const st = await b.getattr(path);
        const graft = await graftOf(path, st);
        if (graft !== 0) { const e = new Float64Array(ENTRY_FIELDS); graftEntry(e, 0, graft, st); ll.replyEntry(id, 0, e); return; }
        ll.replyEntry(id, 0, (await entryStat(path, st))[0]);
        return;
      }
      case RwCall.Getattr:
        count('getattr');
        { const n = nodes.get(ino); ll.replyAttr(id, 0, reply(n.id, nodes.pathOf(n.id), await attrOf(n, nums[Num.Fd]!))); }
        return;
      case RwCall.Setattr:
        count('setattr');
        { const n = nodes.get(ino); ll.replyAttr(id, 0, reply(n.id, nodes.pathOf(n.id), await setattr(n, nums, ctx))); }
        return;
      case RwCall.Readlink:
        count('readlink');
        ll.replyBytes(id, 0, Buffer.from(await b.readlink(nodes.path(ino))));
        return;
      case RwCall.Mknod: {
        count('mknod');
        const path = childOf(nodes.path(ino), s1!);
        await op('mknod')(path, nums[Num.Mode]!, nums[Num.Rdev]!, ctx);
        ll.replyEntry(id, 0, await entry(path));
        return;
      }
      case RwCall.Mkdir: {
        count('mkdir');
        const path = childOf(nodes.path(ino), s1!);
        await op('mkdir')(path, nums[Num.Mode]!, ctx);
        ll.replyEntry(id, 0, await entry(path));
        return;
      }
      case RwCall.Symlink: {
        count('symlink');
        const path = childOf(nodes.path(ino), s1!);
        await op('symlink')(s2!, path, ctx);
        ll.replyEntry(id, 0, await entry(path));
        return;
      }
      case RwCall.Unlink:
      case RwCall.Rmdir: {
        count(kind === RwCall.Unlink ? 'unlink' : 'rmdir');
        const path = childOf(nodes.path(ino), s1!);
        const gone = nodes.atPath(path);
        const siblings = gone ? nodes.siblings(gone) : [];
        const before = gone && kind === RwCall.Rmdir ? await b.getattr(path).catch(() => undefined) : undefined;
        changing(path);
        await op(kind === RwCall.Unlink ? 'unlink' : 'rmdir')(path, ctx);
        // As a disk's: the removed directory's open handles still fstat it, with no links.
        if (gone && before) gone.removed = { ...before, nlink: 0, ctime: Date.now() };
        content.delete(path);
        nodes.unlinked(path);
        // The commit's other names of the inode count one link less: the kernel asks again,
        // told before the unlink returns (another inode: no lock of this request's is needed).
        if (siblings.length > 0) {
          siblings.forEach(dropped);
          await tell(siblings.flatMap((o) => [Note.Inode, o.id, 0, 0]), []);
        }
        ll.replyErr(id, 0);
        return;
      }
      case RwCall.Rename: {
        count('rename');
        const from = childOf(pathOf(ino), s1!), to = childOf(pathOf(ino2), s2!);
        const flags = nums[Num.Flags]!;
        changing(from);
        changing(to);
        // The layer checks the flags (EINVAL, EEXIST for RENAME_NOREPLACE, ENOENT for RENAME_EXCHANGE).
        await op('rename')(from, to, ctx, flags);
        for (const p of [...content.keys()]) if (p === from || p === to || p.startsWith(`${from}/`) || p.startsWith(`${to}/`)) content.delete(p);
        if (flags & RENAME_EXCHANGE) nodes.exchanged(from, to); else nodes.renamed(from, to);
        ll.replyErr(id, 0);
        return;
      }
      case RwCall.Link: {
        count('link');
        // (A commit node's file is in a subtree that takes no writes: the layer refuses.)
        const existing = pathOf(ino), path = childOf(pathOf(ino2), s1!);
        await op('link')(existing, path, ctx);
        const n = nodes.get(ino);
        // The same node under both names: the kernel sees the new link count through either.
        const st = await b.getattr(path);
        nodes.name(n, path, st);
        nodes.taken(n);
        ll.replyEntry(id, 0, one(n.id, st));
        return;
      }
      case RwCall.Open: {
        count('open');
        const [fd, flags, fileIno] = await open(nodes.get(ino), nums[Num.Flags]!, ctx);
        ll.replyOpen(id, 0, fd, flags, fileIno);
        return;
      }
      case RwCall.Create: {
        count('create');
        const path = childOf(nodes.path(ino), s1!);
        const fh = await op('create')(path, nums[Num.Mode]!, ctx);
        let e: Float64Array, st: Stat;
        try {
          [e, st] = await entryStat(path);
        } catch (err) {
          if (fh >= DIRECT_FH) fs.close(fh - DIRECT_FH, () => {});
          throw err;
        }
        const direct = fh >= DIRECT_FH;
        ll.replyCreate(id, 0, e, direct ? held(nodes.get(e[0]!), fh - DIRECT_FH) : -1, OPEN_KEEP_CACHE | (direct && ownsMeta(st) ? OPEN_META : 0));
        return;
      }
      case RwCall.Read: {
        count('read');
        const size = nums[Num.Size]!;
        const buf = Buffer.allocUnsafe(size);
        const path = nodes.path(ino);
        const got = await b.read(path, 0, buf, size, nums[Num.Offset]!);
        ll.replyRead(id, buf, got);
        return;
      }
      case RwCall.Opendir: {
        count('opendir');
        const path = nodes.path(ino);
        const l = await b.readdir(path);
        const stats = l.stats ?? await Promise.all(l.names.map((n) => b.getattr(childOf(path, n))));
        const [self, parent] = await Promise.all([b.getattr(path), b.getattr(parentOf(path))]);
        const grafts = await Promise.all(l.names.map((n, i) => graftOf(childOf(path, n), stats[i]!)));
        const h = nextDir++;
        dirs.set(h, { path, names: ['.', '..', ...l.names], stats: [self, parent, ...stats], grafts: [0, 0, ...grafts] });
        ll.replyOpen(id, 0, h, 0, 0);
        return;
      }
      case RwCall.Readdir:
        count('readdir');
        readdir(id, nums);
        return;
      case RwCall.Releasedir:
        dirs.delete(nums[Num.Fd]!);
        ll.replyErr(id, 0);
        return;
      case RwCall.Getxattr: {
        count('getxattr');
        const v = await b.getxattr(nodes.path(ino), s1!);
        if (v === null) throw FuseError.of('ENODATA');
        ll.replyBytes(id, 0, v);
        return;
      }
      case RwCall.Listxattr: {
        count('listxattr');
        const names = await b.listxattr(nodes.path(ino));
        ll.replyBytes(id, 0, Buffer.from(names.map((n) => `${n}\0`).join('')));
        return;
      }
      case RwCall.Setxattr:
        count('setxattr');
        await op('setxattr')(nodes.path(ino), s1!, data ?? Buffer.alloc(0), nums[Num.Flags]!, ctx);
        ll.replyErr(id, 0);
        return;
      case RwCall.Removexattr:
        count('removexattr');
        await op('removexattr')(nodes.path(ino), s1!, ctx);
        ll.replyErr(id, 0);
        return;
      default:
        ll.replyErr(id, FuseError.of('ENOSYS').errno);
    }
  };

  /** How each call answers an error. */
  const fail = (kind: RwCall, id: number, errno: number): void => {
    switch (kind) {
      case RwCall.Lookup:
        if (boot && errno === ENOENT) { ll.replyEntry(id, 0, NEGATIVE); return; }
        ll.replyEntry(id, errno, null);
        return;
      case RwCall.Mknod: case RwCall.Mkdir: case RwCall.Symlink: case RwCall.Link: ll.replyEntry(id, errno, null); return;
      case RwCall.Getattr: case RwCall.Setattr: ll.replyAttr(id, errno, null); return;
      case RwCall.Open: case RwCall.Opendir: ll.replyOpen(id, errno, -1, 0, 0); return;
      case RwCall.Create: ll.replyCreate(id, errno, null, -1, 0); return;
      case RwCall.Read: ll.replyRead(id, null, -errno); return;
      case RwCall.Readlink: case RwCall.Getxattr: case RwCall.Listxattr: ll.replyBytes(id, errno, null); return;
      case RwCall.Readdir: ll.replyDir(id, errno, [], new Float64Array(0), 0); return;
      default: ll.replyErr(id, errno);
    }
  };

  const QUIET = new Set([ENOENT, FuseError.of('ENODATA').errno]);
  const handler = (kind: RwCall | Call, id: number, ino: number, ino2: number, s1: string | undefined, s2: string | undefined, nums: number[], data: Buffer | undefined): void => {
    if (kind === Call.Init) { ready(); return; }
    // A graft's: (kind, id, path, size, offset).
    if (commitCalls && kind < RwCall.Lookup && commitCalls.handle(kind as Call, id, ino as unknown as string | undefined, ino2, Number(s1))) return;
    if (kind === Call.Statfs) {
      count('statfs');
      b.statfs().then(
        (s) => ll.replyStatfs(id, [s.bsize, s.frsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.favail, s.namemax], 0),
        (err: unknown) => ll.replyStatfs(id, null, errnoOf(err, 'statfs', o.log)));
      return;
    }
    if (kind === RwCall.Forget) { dropped(nodes.forget(ino, nums[Num.Size]!)); return; }
    if (kind === RwCall.Release) {
      const fd = nums[Num.Fd]!;
      nodes.find(ino)?.fds?.delete(fd);
      fs.close(fd, () => {});
      return;
    }
    run(kind as RwCall, id, ino, ino2, s1, s2, nums, data).catch((err: unknown) => {
      const errno = errnoOf(err, `${OP_NAMES[kind - RwCall.Lookup] ?? kind} ${ino}/${s1 ?? ''}`, QUIET.has((err as FuseError).errno) ? () => {} : o.log);
      fail(kind as RwCall, id, errno);
    });
  };

  try {
    m = ll.mount(mountpoint, mountOptions(o, false), null, handler as never);
  } catch (err) {
    throw new HacktreeError('MOUNT', `cannot mount FUSE filesystem at ${mountpoint}: ${(err as Error).message}`, { cause: err });
  }
  const mount = m;
  if (boot) ll.setBootRoot(mount);
  await inited;
  o.log(`passthrough of the root's files: ${ll.passthrough(mount) ? 'on' : 'off'}`);
  await widenReadahead(resolve(mountpoint), o.log);
  let unmounting: Promise<void> | undefined;
  return {
    mountpoint,
    cacheContent: (path, file) => {
      // A graft's file (the addon finds it by path, if its listing is made), or a node's.
      ll.cacheContent(mount, path, file);
      content.set(path, file);
      const n = nodes.atPath(path);
      if (n && !n.layer) ll.setContent(n.id, file);
    },
    requestCounts: () => ll.requestCounts(mount),
    unmount: () => (unmounting ??= unmountAt(mountpoint, () => ll.detach(mount))),
    reload: async (backend) => {
      b = backend;
      observed(b);
      content = new Map();
      // Grafts were of the commit and layer as they were: the addon starts a new commit tree,
      // and the kernel drops each graft's name (below).
      const wasGrafted = grafted;
      grafted = new Set();
      aboveGrafts = new Map();
      ll.newCommit(mount);
      commitCalls = callsOf(b);
      // The addon forgets its directories with the notes below (notify.c); from now on they are the new layer's.
      for (const n of nodes.all()) n.dir = false;
      // Every name and every inode the kernel knows may mean something else now. A directory
      // of the commit keeps its dentry (its node follows its path, and invalidating it would
      // detach what is mounted on it, as enter mounts /proc); any other name is looked up again.
      const notes: number[] = [], names: string[] = [];
      for (const [path, n] of nodes.named()) {
        const parent = nodes.atPath(parentOf(path));
        notes.push(Note.Inode, n.id, 0, 0);
        if (parent && (n.fmt !== S_IFDIR || n.layer)) { notes.push(Note.Entry, 0, parent.id, names.length); names.push(baseOf(path)); }
        // A layer file still open may be read and written by the kernel itself (passthrough,
        // native/ll/passthrough.c), through that file only, for as long as any handle of the
        // node is open: the name's next lookup makes a new node, as if the file had been
        // replaced, so that a new layer file (written again after a reset) is another inode.
        if (n.fmt === S_IFREG && n.fds && n.fds.size > 0) { dropped(n); nodes.unlinked(path); }
      }
      for (const path of wasGrafted) {
        const parent = nodes.atPath(parentOf(path));
        if (parent) { notes.push(Note.Entry, 0, parent.id, names.length); names.push(baseOf(path)); }
      }
      notes.push(Note.Inode, ROOT_ID, 0, 0);
      await tell(notes, names);
    },
  };
}

function erofs(): never { throw FuseError.of('EROFS'); }
