// Setting a file's times in upper/ exactly as the mount shows them: to the nanosecond, as the
// mount's answers give them. node:fs cannot: libuv cuts the times it sets to microseconds
// (and has no UTIME_OMIT), so a directory's mtime put back after a copy-up, or a time kept by
// UTIME_OMIT, came back up to 2 µs off, and explicit nanoseconds were lost. The FUSE addon
// (loaded for this alone) has a plain utimensat.
import { constants as osConstants } from 'node:os';
import { nativeAddon } from '../native-addon.js';

/** A time in ms since the epoch (a double), in ns (exact), or leave it as it is, or the kernel's now. */
export type SetTime = number | bigint | 'omit' | 'now';

interface TimesAddon { setTimes(path: string, aSec: number, aNsec: number, mSec: number, mNsec: number, nofollow: boolean): number }

const NAMES = new Map(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));
const NS = 1_000_000_000n;

/** Whole seconds and nanoseconds of a time in ns (exact) or in ms (to the nearest ns); times before 1970 too. */
export function timeParts(t: number | bigint): [sec: number, nsec: number] {
  if (typeof t === 'bigint') {
    let s = t / NS, r = t % NS;
    if (r < 0n) { s -= 1n; r += NS; }
    return [Number(s), Number(r)];
  }
  const s = Math.floor(t / 1000), ns = Math.round((t - s * 1000) * 1e6);
  return ns > 999_999_999 ? [s + 1, ns - 1_000_000_000] : [s, Math.max(0, ns)];
}

// setTimes' nanoseconds for UTIME_OMIT and UTIME_NOW (rw_replies.c).
const parts = (t: SetTime): [number, number] => (t === 'omit' ? [0, -1] : t === 'now' ? [0, -2] : timeParts(t));

/** utimensat(2) on `path` (a symlink itself with `nofollow`); throws an error with the errno name in `code`, as node:fs does. */
export function setTimes(path: string, atime: SetTime, mtime: SetTime, nofollow = false): void {
  const err = nativeAddon<TimesAddon>().setTimes(path, ...parts(atime), ...parts(mtime), nofollow);
  if (err !== 0) {
    const code = NAMES.get(err) ?? 'EIO';
    throw Object.assign(new Error(`${code}: utimensat ${path}`), { code, errno: -err, path });
  }
}
