// Capturing a root's layer: list it, commit it, reset it. The caller says where
// the layer is and which commit it sits on (for a root: its root.json).
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, UsageError, describeSystemError } from '../errors.js';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { Transaction } from '../store/transaction.js';
import { writeCommitObject } from '../store/ops/commit.js';
import type { RefName } from '../store/refs.js';
import { Layer } from './layer.js';
import { removeTree } from './long-paths.js';
import { MergedTree, type Change } from './merge.js';

export function layerDiff(repo: Repo, layerDir: string, commit: Checksum): { changes: Change[]; specials: string[] } {
  const layer = Layer.open(layerDir);
  try {
    const t = MergedTree.build(repo, layer, commit);
    return { changes: t.diff(), specials: t.specials };
  } finally {
    layer.close();
  }
}

export interface LayerCommitResult { checksum: Checksum; parent: Checksum; changes: number; leftOut: string[] }

/**
 * Writes a commit of the tree `commit` + layer to `branch`, with `commit` as
 * parent. The layer stays as it is.
 */
export function layerCommit(repo: Repo, layerDir: string, commit: Checksum, f: { branch: RefName; subject: string; body?: string }): LayerCommitResult {
  const layer = Layer.open(layerDir);
  const lock = repo.lock();
  const tx = new Transaction(repo);
  try {
    const t = MergedTree.build(repo, layer, commit);
    const changes = t.diff().length;
    const root = t.write(tx);
    const checksum = writeCommitObject(tx, { branch: f.branch, parent: commit, subject: f.subject, body: f.body }, root);
    tx.commit([{ ref: f.branch, checksum }]);
    return { checksum, parent: commit, changes, leftOut: t.specials };
  } catch (e) {
    tx.abort();
    throw describeSystemError(e, 'layer commit failed');
  } finally {
    lock.release();
    layer.close();
  }
}

/** Drops the layer's changes at or below each path (all of them without paths). Nothing may be serving the layer. */
export function layerReset(layerDir: string, paths: string[]): void {
  for (const p of paths) if (!p.startsWith('/') || p.split('/').includes('..')) throw new UsageError(`layer reset takes absolute paths without '..', not '${p}'`);
  const layer = Layer.open(layerDir);
  try {
    for (const p of paths.length ? paths : ['/']) {
      const norm = p === '/' ? '/' : p.replace(/\/+$/, '');
      if (norm === '/') {
        for (const e of fs.readdirSync(layer.upper)) removeTree(join(layer.upper, e));
      } else {
        removeTree(layer.upperPath(norm));
      }
      layer.db.clearBelow(norm);
    }
  } catch (e) {
    throw e instanceof HacktreeError ? e : describeSystemError(e, 'layer reset failed');
  } finally {
    layer.close();
  }
}
