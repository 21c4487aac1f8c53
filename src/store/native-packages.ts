// The CommonJS packages with native code (SQLite, xattrs), loaded with require when first used.
// Imported as ES modules, node 20 first scans each one's sources for their exports
// (cjs-module-lexer): 10-20 ms of CPU per package at every start, which `hacktree mount`
// and then its daemon each paid before a mount could come up, and every command paid for
// SQLite even when it never opened the index.
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type * as Xattr from '@napi-rs/xattr';

const require = createRequire(import.meta.url);
let sqlite: typeof Database | undefined;
let xattr: typeof Xattr | undefined;

/** better-sqlite3's Database class. */
export function sqliteDatabase(): typeof Database {
  return (sqlite ??= require('better-sqlite3') as typeof Database);
}

/** @napi-rs/xattr: the l*xattr calls (a symlink's own attributes, never its target's). */
export function xattrLib(): typeof Xattr {
  return (xattr ??= require('@napi-rs/xattr') as typeof Xattr);
}
