// The package's native addon (native/, built by `npm ci`): the FUSE core, and the few plain
// calls the layer (utimensat) and a mount's supervisor (waitpid) need from C. One place loads
// it; each caller types the part it uses.
import { createRequire } from 'node:module';
import { distPath } from './dist-paths.js';
import { HacktreeError } from './errors.js';

let addon: unknown;

export function nativeAddon<T>(): T {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(distPath('../native/build/Release/hacktree_ll.node'));
    } catch (err) {
      throw new HacktreeError('MOUNT', `the FUSE addon is not built (run npm ci): ${(err as Error).message}`, { cause: err });
    }
  }
  return addon as T;
}
