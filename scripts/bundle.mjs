#!/usr/bin/env node
// Bundles the entries a mount's start waits for into one file each, beside them in dist/
// (NAME.bundle.js; src/dist-paths.ts runs a bundle only while it is newer than its entry).
// Node 20 loads an ES module graph file by file: the daemon's ~30 modules cost it ~60 ms of
// CPU more than one bundle of the same code. Run after tsc (`npm run build`); without esbuild
// (an install without dev dependencies) there are no bundles, and the entries run as they are.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const ENTRIES = ['daemon-main', 'supervisor-main', 'cli/main'];

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('scripts/bundle.mjs: esbuild is not installed: no bundles (the entries run unbundled)\n');
  process.exit(0);
}
for (const name of ENTRIES) {
  const entry = `${dist}${name}.js`;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run tsc first`);
  await esbuild.build({
    entryPoints: [entry],
    // All in dist/ itself: dist-paths.ts finds the package's files from there.
    outfile: `${dist}${name.replace('/', '-')}.bundle.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Packages with native code are required when first used (src/store/native-packages.ts).
    external: ['better-sqlite3', '@napi-rs/xattr'],
    // commander is CommonJS: the bundle gives it the require it calls for node's own modules.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}
