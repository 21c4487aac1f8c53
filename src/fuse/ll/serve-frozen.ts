// Serves a commit read-only through native/ll. JS is asked three things: a directory's
// listing (once per directory for the mount's life: names, attributes, symlink targets and
// xattrs of every entry, after which lookups, getattrs, readdirs, readlinks and xattrs under
// it never reach JS; the listings of its subdirectories are then made ahead, list-ahead.ts),
// the bytes of a file whose checked object file the addon does not know yet (a backend
// publishes it with contentChecked → FuseMount.cacheContent), and statfs.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { FuseError, type FuseMount, type Stat } from '../types.js';
import type { ReadBackend } from '../backend.js';
import { CommitFs } from '../commit-fs.js';
import { HacktreeError } from '../../errors.js';
import { isLnk, S_IFDIR, S_IFMT } from '../../store/objects/types.js';
import type { ServeOptions } from '../serve.js';
import { Call, encodeEntries, loadLl, type LlEntry, type LlMount } from './binding.js';
import { ListAhead, type Built } from './list-ahead.js';
import { WalkAhead } from './walk-ahead.js';
import { widenReadahead } from './kernel-readahead.js';

const ERRNO = osConstants.errno as Record<string, number>;

/**
 * libfuse's high-level options, which fuse_session_new refuses; this core does what they ask
 * anyway (inode numbers are the backend's, the kernel caches everything for a day).
 */
const HIGH_LEVEL = new Set(['use_ino', 'readdir_ino', 'kernel_cache', 'auto_cache', 'noauto_cache', 'entry_timeout', 'negative_timeout',
  'attr_timeout', 'ac_attr_timeout', 'remember', 'hard_remove', 'direct_io', 'intr', 'intr_signal', 'nopath', 'modules',
  // The core sets max_read itself (1 MiB, native/ll/session.c): libfuse 3.14 ends a session whose
  // mount option and INIT disagree.
  'max_read']);

export function mountOptions(o: ServeOptions, readOnly = true): string[] {
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
  const list = [`fsname=${escape(o.fsname)}`, 'subtype=hacktree', ...(readOnly ? ['ro'] : []), 'default_permissions'];
  if (o.asRoot) list.push('allow_other', 'suid', 'dev');
  for (const opt of o.extra) if (!HIGH_LEVEL.has(opt.split('=', 1)[0]!)) list.push(opt);
  return list;
}

export function errnoOf(err: unknown, what: string, log: (msg: string) => void): number {
  if (err instanceof FuseError) return err.errno;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ERRNO[code] !== undefined) return ERRNO[code]!;
  log(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  return ERRNO.EIO!;
}

const child = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** What the addon keeps of one path besides its attributes. */
async function extrasOf(b: ReadBackend, path: string, stat: Stat): Promise<Pick<LlEntry, 'symlink' | 'xattrs'>> {
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

async function listing(b: ReadBackend, path: string): Promise<Built> {
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

const fusermount = fs.existsSync('/usr/bin/fusermount3') ? 'fusermount3' : 'fusermount';

/** Mounts `backend` read-only at `mountpoint` through native/ll; resolves once the kernel has sent INIT. */
export async function serveFrozen(backend: ReadBackend, mountpoint: string, o: ServeOptions): Promise<FuseMount> {
  const ll = loadLl();
  const mnt = resolvePath(mountpoint);
  const counts = o.counts ?? {};
  const count = (op: string): void => { counts[op] = (counts[op] ?? 0) + 1; };
  const rootStat = await backend.getattr('/');
  const root = encodeEntries([{ name: '', stat: rootStat, ...(await extrasOf(backend, '/', rootStat)) }], false);
  let ready: () => void = () => {};
  const inited = new Promise<void>((res) => { ready = res; });
  let m: LlMount | undefined;
  // 'readdir' counts listings made (once per directory, asked for or ahead), 'readdir-ahead' those given ahead.
  const ahead = new ListAhead((path) => { count('readdir'); return listing(backend, path); }, (path, buf) => {
    const taken = m !== undefined && ll.offerList(m, path, buf);
    if (taken) count('readdir-ahead');
    return taken;
  }, !(backend instanceof CommitFs && backend.fetches));

  const walk = backend instanceof CommitFs
    ? new WalkAhead(backend, () => (m !== undefined ? ll.requestCounts(m).read ?? 0 : 0), (file) => ll.readAhead(file), o.log)
    : undefined;

  const handler = (kind: Call, id: number, path: string | undefined, size: number, offset: number): void => {
    switch (kind) {
      case Call.Init:
        ready();
        return;
      case Call.List:
        ahead.asked(path!).then((b) => {
          ll.replyList(id, b?.listing ?? null, 0);
          walk?.enter(path!);
        }, (err: unknown) => ll.replyList(id, null, errnoOf(err, `readdir ${path}`, o.log)));
        return;
      case Call.Visit:
        ahead.visited(path!);
        walk?.enter(path!);
        return;
      case Call.Read: {
        count('read');
        const failed = (err: unknown): void => ll.replyRead(id, null, -errnoOf(err, `read ${path}`, o.log));
        const inJs = (): void => {
          const buf = Buffer.allocUnsafe(size);
          backend.read(path!, 0, buf, size, offset).then((n) => ll.replyRead(id, buf, n), failed);
        };
        // The object file checked off the event loop and published: the addon reads it, as it
        // does every later read (JS reads it only if it could not be published).
        if (backend instanceof CommitFs && backend.servesCheckedFiles) {
          backend.checkedFile(path!, offset).then(() => { if (!ll.replyReadContent(id)) inJs(); }, failed);
        } else inJs();
        return;
      }
      case Call.Statfs:
        count('statfs');
        backend.statfs().then(
          (s) => ll.replyStatfs(id, [s.bsize, s.frsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.favail, s.namemax], 0),
          (err: unknown) => ll.replyStatfs(id, null, errnoOf(err, 'statfs', o.log)));
        return;
    }
  };

  try {
    m = ll.mount(mnt, mountOptions(o), root, handler);
  } catch (err) {
    throw new HacktreeError('MOUNT', `cannot mount FUSE filesystem at ${mnt}: ${(err as Error).message}`, { cause: err });
  }
  await inited;
  await widenReadahead(mnt, o.log);
  const mounted = m;
  let unmounting: Promise<void> | undefined;
  return {
    mountpoint: mnt,
    cacheContent: (path, file) => ll.cacheContent(mounted, path, file),
    requestCounts: () => ll.requestCounts(mounted),
    unmount: () => (unmounting ??= unmountAt(mnt, () => ll.detach(mounted))),
  };
}

/** Lazily unmounts `mnt`; `detach` lets the event loop go once the kernel is done. */
export function unmountAt(mnt: string, detach: () => void): Promise<void> {
  return new Promise<void>((res, rej) => {
    execFile(fusermount, ['-uz', mnt], (err) => {
      detach();
      if (err) rej(new HacktreeError('MOUNT', `cannot unmount ${mnt}: ${err.message}`, { cause: err }));
      else res();
    });
  });
}
