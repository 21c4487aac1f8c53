// The package's own files, named from one place: dist/ (src/ under the tests). The daemon runs
// from a bundle, dist/daemon-main.bundle.cjs (scripts/bundle.mjs), beside this file, where
// a module's own import.meta.url names the bundle and not the module's place in dist/.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('./', import.meta.url);

/** A URL of `rel` under dist/ (`../native/...` reaches beyond it). */
export const distUrl = (rel: string): URL => new URL(rel, DIST);

/** The same as a path. */
export const distPath = (rel: string): string => fileURLToPath(distUrl(rel));

/**
 * The file node runs for the entry dist/NAME.js: its bundle (NAME.bundle.cjs, one file to load
 * instead of dozens), unless there is none or it is older than the entry (dist/ rebuilt by a
 * bare `tsc` since it was made), in which case the entry itself.
 */
export function entryPath(name: string): string {
  const plain = distPath(`${name}.js`);
  try {
    const bundle = distPath(`${name}.bundle.cjs`);
    if (fs.statSync(bundle).mtimeMs >= fs.statSync(plain).mtimeMs) return bundle;
  } catch { /* no bundle: the entry */ }
  return plain;
}
