import { basename, dirname } from 'node:path';

/** objects/ab/cdef….file → abcdef… (for messages about a path). */
export function objectNameOf(path: string): string {
  const b = basename(path);
  return basename(dirname(path)) + b.slice(0, b.indexOf('.') < 0 ? undefined : b.indexOf('.'));
}
