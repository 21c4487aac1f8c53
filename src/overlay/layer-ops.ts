// Capturing a root's layer: list it, commit it, reset it.
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, UsageError, describeSystemError } from '../errors.js';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { Transaction } from '../store/transaction.js';
import { writeCommitObject } from '../store/ops/commit.js';
import type { RefName } from '../store/refs.js';
import type { Roots } from '../roots/roots.js';
import { Layer } from './layer.js';
import { MergedTree, type Change } from './merge.js';

export function layerDiff(repo: Repo, roots: Roots, name: string): { changes: Change[]; specials: string[] } {
  const rec = roots.get(name);
  const layer = Layer.open(roots.layerDir(name));
  try {
    const t = MergedTree.build(repo, layer, rec.commit);
    return { changes: t.diff(), specials: t.specials };
  } finally {
    layer.close();
  }
}

export interface LayerCommitResult { checksum: Checksum; parent: Checksum; changes: number; leftOut: string[] }

/**
 * Writes a commit of the root's tree (base + layer) to `branch`, with the
 * root's commit as parent. The root and its layer stay as they are.
 */
export function layerCommit(repo: Repo, roots: Roots, name: string, f: { branch: RefName; subject?: string; body?: string }): LayerCommitResult {
  const rec = roots.get(name);
  const layer = Layer.open(roots.layerDir(name));
  const lock = repo.lock();
  const tx = new Transaction(repo);
  try {
    const t = MergedTree.build(repo, layer, rec.commit);
    const changes = t.diff().length;
    const root = t.write(tx);
    const checksum = writeCommitObject(tx, { branch: f.branch, parent: rec.commit, subject: f.subject ?? `layer of root ${name}`, body: f.body }, root);
    tx.commit([{ ref: f.branch, checksum }]);
    return { checksum, parent: rec.commit, changes, leftOut: t.specials };
  } catch (e) {
    tx.abort();
    throw describeSystemError(e, 'layer commit failed');
  } finally {
    lock.release();
    layer.close();
  }
}

/** Drops the layer's changes at or below each path (all of them without paths). The root must not be mounted. */
export function layerReset(roots: Roots, name: string, paths: string[]): void {
  roots.get(name);
  for (const p of paths) if (!p.startsWith('/') || p.split('/').includes('..')) throw new UsageError(`layer reset takes absolute paths without '..', not '${p}'`);
  const layer = Layer.open(roots.layerDir(name));
  try {
    for (const p of paths.length ? paths : ['/']) {
      const norm = p === '/' ? '/' : p.replace(/\/+$/, '');
      if (norm === '/') {
        for (const e of fs.readdirSync(layer.upper)) fs.rmSync(join(layer.upper, e), { recursive: true, force: true });
      } else {
        fs.rmSync(layer.upperPath(norm), { recursive: true, force: true });
      }
      layer.db.clearBelow(norm);
    }
  } catch (e) {
    throw e instanceof HacktreeError ? e : describeSystemError(e, 'layer reset failed');
  } finally {
    layer.close();
  }
}
