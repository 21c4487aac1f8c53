// fallocate(2) on a file of the layer, by its descriptor. node:fs has no fallocate:
// util-linux's fallocate(1) does it, on the daemon's descriptor reopened through
// /proc (the same inode, so ext4's allocation, holes and sizes are the real ones).
// A child per call: programs allocate rarely and in large steps (databases, journals).
import { execFile } from 'node:child_process';
import { LayerError, type LayerErrno } from './errors.js';

/** fallocate(2) mode bits. */
export const FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02, FALLOC_FL_COLLAPSE_RANGE = 0x08, FALLOC_FL_ZERO_RANGE = 0x10, FALLOC_FL_INSERT_RANGE = 0x20;
const KNOWN = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE;

/** fallocate(1)'s options for a mode, or the errno fallocate(2) would give it. */
export function fallocateArgs(mode: number, offset: number, length: number): string[] {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) throw LayerError.of('EINVAL');
  if (mode & ~KNOWN) throw LayerError.of('EOPNOTSUPP');
  const args = ['-o', String(offset), '-l', String(length)];
  const ops = mode & ~FALLOC_FL_KEEP_SIZE;
  // The kernel's own rules: one operation at a time; a hole punched keeps the size.
  if (ops === 0) return mode & FALLOC_FL_KEEP_SIZE ? ['-n', ...args] : args;
  if (ops === FALLOC_FL_PUNCH_HOLE) { if (!(mode & FALLOC_FL_KEEP_SIZE)) throw LayerError.of('EOPNOTSUPP'); return ['-p', ...args]; }
  if (ops === FALLOC_FL_ZERO_RANGE) return mode & FALLOC_FL_KEEP_SIZE ? ['-z', '-n', ...args] : ['-z', ...args];
  if (mode & FALLOC_FL_KEEP_SIZE) throw LayerError.of('EINVAL');
  if (ops === FALLOC_FL_COLLAPSE_RANGE) return ['-c', ...args];
  if (ops === FALLOC_FL_INSERT_RANGE) return ['-i', ...args];
  throw LayerError.of('EINVAL');
}

/** What fallocate(1) said, as the errno it got. */
function errnoOf(stderr: string): LayerErrno {
  if (/not supported/i.test(stderr)) return 'EOPNOTSUPP';
  if (/no space/i.test(stderr)) return 'ENOSPC';
  if (/too large/i.test(stderr)) return 'EFBIG';
  if (/invalid argument/i.test(stderr)) return 'EINVAL';
  if (/bad file descriptor/i.test(stderr)) return 'EBADF';
  return 'EIO';
}

export function fallocateFd(fd: number, mode: number, offset: number, length: number): Promise<void> {
  const args = fallocateArgs(mode, offset, length);
  return new Promise((resolve, reject) => {
    execFile('fallocate', [...args, `/proc/${process.pid}/fd/${fd}`], (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error("fallocate(1) is missing: install util-linux"));
      reject(LayerError.of(errnoOf(String(stderr))));
    });
  });
}
