// Objects checked by the addon (native/ll/check.c): one job of libuv's pool per object file
// instead of an open, an fstat, reads and a close from JS, and the hash off the event loop.
import { getSystemErrorName } from 'node:util';
import type { ObjectChecker } from '../content-reader.js';
import { loadLl } from './binding.js';

export function objectChecker(): ObjectChecker {
  const ll = loadLl();
  return (file, prefix, checksum, mark) => new Promise((resolve, reject) => {
    ll.checkObject(file, prefix, checksum, mark?.ino ?? -1, mark?.size ?? 0, mark?.ctimeNs ?? 0n, (status, ino, size, ctimeNs) => {
      if (status > 0) {
        const code = getSystemErrorName(-status);
        reject(Object.assign(new Error(`${code}: cannot check ${file}`), { code, errno: -status }));
      } else resolve({ good: status === 0, stamp: { ino, size, ctimeNs } });
    });
  });
}
