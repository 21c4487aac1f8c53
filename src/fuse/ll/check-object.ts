// Objects checked by the addon (native/ll/check.c, read-meta.c): one job of libuv's pool per
// object file instead of an open, an fstat, reads and a close from JS, and the hash off the
// event loop.
import { getSystemErrorName } from 'node:util';
import type { ObjectChecker } from '../content-reader.js';
import type { MetaReader } from '../../store/repo.js';
import { checksumToBytes } from '../../store/checksum.js';
import { CorruptObjectError } from '../../errors.js';
import { loadLl } from './binding.js';

const systemError = (status: number, what: string): Error => {
  const code = getSystemErrorName(-status);
  return Object.assign(new Error(`${code}: ${what}`), { code, errno: -status });
};

export function objectChecker(): ObjectChecker {
  const ll = loadLl();
  return (file, prefix, checksum, mark) => new Promise((resolve, reject) => {
    ll.checkObject(file, prefix, checksum, mark?.ino ?? -1, mark?.size ?? 0, mark?.ctimeNs ?? 0n, (status, ino, size, ctimeNs) => {
      if (status > 0) reject(systemError(status, `cannot check ${file}`));
      else resolve({ good: status === 0, stamp: { ino, size, ctimeNs } });
    });
  });
}

/** Metadata objects (dirtrees, dirmetas) read and checked by the addon (native/ll/read-meta.c). */
export function metaReader(): MetaReader {
  const ll = loadLl();
  return (file, csum, type) => new Promise((resolve, reject) => {
    ll.readMeta(file, checksumToBytes(csum), (status, bytes) => {
      if (status === 0 && bytes) resolve(bytes);
      else if (status === -1) reject(new CorruptObjectError(csum, type, 'checksum mismatch'));
      else reject(systemError(status, `cannot read ${file}`));
    });
  });
}
