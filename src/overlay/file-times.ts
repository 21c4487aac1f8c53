// Setting a file's times in upper/ exactly as the mount shows them. node:fs cannot:
// libuv cuts the times it sets to microseconds (and has no UTIME_OMIT), so a directory's
// mtime put back after a copy-up, or a time kept by UTIME_OMIT, came back up to 2 µs off,
// and explicit nanoseconds were lost. The FUSE addon's setTimes converts ms as its replies
// do (ll_time_of), so what is set here reads back as the same time through the mount.
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

/** A time in ms since the epoch, or leave it as it is, or the kernel's now. */
export type SetTime = number | 'omit' | 'now';

interface TimesAddon { setTimes(path: string, atimeMs: number, mtimeMs: number, nofollow: boolean): number }

let addon: TimesAddon | undefined;
const NAMES = new Map(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

const ms = (t: SetTime): number => (t === 'omit' ? NaN : t === 'now' ? Infinity : t);

/** utimensat(2) on `path` (a symlink itself with `nofollow`); throws an error with the errno name in `code`, as node:fs does. */
export function setTimes(path: string, atime: SetTime, mtime: SetTime, nofollow = false): void {
  addon ??= createRequire(import.meta.url)('../../native/build/Release/hacktree_ll.node') as TimesAddon;
  const err = addon.setTimes(path, ms(atime), ms(mtime), nofollow);
  if (err !== 0) {
    const code = NAMES.get(err) ?? 'EIO';
    throw Object.assign(new Error(`${code}: utimensat ${path}`), { code, errno: -err, path });
  }
}
