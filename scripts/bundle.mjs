#!/usr/bin/env node
// Bundles the entries a mount's start waits for into one file each, beside them in dist/
// (NAME.bundle.cjs; src/dist-paths.ts runs a bundle only while it is newer than its entry).
// Node 20 loads an ES module graph file by file: the daemon's ~30 modules cost it ~60 ms of
// CPU more than one bundle of the same code. The bundles are CommonJS: node loads an ES module
// through its ES loader (the source decoded to a string, then compiled and linked as a module),
// a CommonJS file as a plain script: ~30 ms of CPU less for the command's 650 KB at load ~6.
// Run after tsc (`npm run build`); without esbuild (an install without dev dependencies) there
// are no bundles, and the entries run as they are.
import { existsSync, rmSync } from 'node:fs';
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
    outfile: `${dist}${name.replace('/', '-')}.bundle.cjs`,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Packages with native code are required when first used (src/store/native-packages.ts).
    external: ['better-sqlite3', '@napi-rs/xattr'],
    // A module's import.meta.url is the bundle's own URL (dist-paths.ts finds the package's files from it).
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  // An ES module bundle of an earlier build.
  rmSync(`${dist}${name.replace('/', '-')}.bundle.js`, { force: true });
}
