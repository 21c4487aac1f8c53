// Serves a commit read-only through native/ll. JS is asked three things: a directory's
// listing (once per directory for the mount's life: names, attributes, symlink targets and
// xattrs of every entry, after which lookups, getattrs, readdirs, readlinks and xattrs under
// it never reach JS; the listings of its subdirectories are then made ahead, list-ahead.ts),
// the bytes of a file whose checked object file the addon does not know yet (a backend
// publishes it with contentChecked → FuseMount.cacheContent), both in commit-calls.ts, and statfs.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import type { FuseMount } from '../types.js';
import type { ReadBackend } from '../backend.js';
import { HacktreeError } from '../../errors.js';
import type { ServeOptions } from '../serve.js';
import { Call, encodeEntries, loadLl, type LlMount } from './binding.js';
import { CommitCalls, errnoOf, extrasOf } from './commit-calls.js';
import { widenReadahead } from './kernel-readahead.js';

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
  const calls = new CommitCalls(backend, ll, () => m, count, o.log);

  const handler = (kind: Call, id: number, path: string | undefined, size: number, offset: number): void => {
    if (calls.handle(kind, id, path, size, offset)) return;
    switch (kind) {
      case Call.Init:
        ready();
        return;
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
