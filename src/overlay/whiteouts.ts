// Deletions and opaque directories. upper/ can only add entries to the commit's
// tree; what it cannot say is kept in layer.db: a whiteout hides the commit's
// entry at a path, an opaque directory hides everything the commit has below it.
// These functions keep both right as names come and go.
import type { BaseNode } from './base-tree.js';
import type { Lookup } from './lookup.js';

/** A new name exists in upper/: a whiteout there would hide nothing now, and the commit's old entry stays hidden. */
export function nameMade(look: Lookup<BaseNode>, path: string, isDirectory = false): void {
  const layer = look.layer;
  layer.markUpper(path);
  if (layer.whiteouts.has(path)) {
    layer.removeWhiteout(path);
    // A directory made where a deleted base directory was must not show the old contents.
    if (isDirectory) layer.addOpaque(path);
  }
}

/**
 * The entry at `path` has left upper/ (or was only the commit's): forget it, and white out what
 * the commit has there. `baseShowed`: the commit's entry showed there before (measured before
 * any whiteout for it was written).
 */
export function nameRemoved(look: Lookup<BaseNode>, path: string, isDirectory: boolean, baseShowed: boolean): void {
  const layer = look.layer;
  layer.unmarkUpper(path, isDirectory);
  layer.forgetBelow(path, baseShowed);
}

/**
 * The entry at `from` has been renamed to `to` in upper/ (over `to`'s old entry, if any).
 * `dstWasUpperDir`: `to` was a directory in upper/ (removed first); `dstBaseHad` and
 * `srcBaseHad`: the commit showed an entry at `to`, at `from`, measured before the rename.
 */
export function nameMoved(look: Lookup<BaseNode>, from: string, to: string, o: { srcIsDir: boolean; dstWasUpperDir: boolean; dstBaseHad: boolean; srcBaseHad: boolean }): void {
  const layer = look.layer;
  layer.unmarkUpper(to, o.dstWasUpperDir);
  layer.moveUpper(from, to, o.srcIsDir);
  // Records below `to` were about the entry it replaced.
  layer.forgetBelow(to);
  // A directory moved over one the commit has must not show the commit's contents.
  if (o.srcIsDir && o.dstBaseHad) layer.addOpaque(to);
  layer.forgetBelow(from, o.srcBaseHad);
}
