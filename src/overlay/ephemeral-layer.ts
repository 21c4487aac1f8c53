// A throwaway layer: every path takes writes (EVERY_PATH), and it starts empty or as a
// copy of a root's layer, which it never writes to. Unlike a root's layer it says itself
// which commit it sits on (base.json), so that once kept (`--keep-layer DIR`) `layer diff
// DIR` and `layer commit DIR` can read it without a root.
import fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { HacktreeError } from '../errors.js';
import type { Checksum } from '../store/checksum.js';
import { atomicWriteFileSync } from '../store/durable.js';
import { Layer } from './layer.js';
import { LayerDb } from './layer-db.js';
import { EVERY_PATH } from './rules.js';

export interface LayerBase { commit: Checksum; rev: string }

const BASE_FILE = 'base.json';

/** Makes a throwaway layer at `dir` (absent or empty) over `base`, as a copy of the layer at `copyOf` if given. */
export async function makeEphemeralLayer(dir: string, base: LayerBase, copyOf?: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  if (fs.readdirSync(dir).length) throw new HacktreeError('EXISTS', `${dir} is not empty: a new layer needs a new or empty directory`);
  if (copyOf) {
    // -a keeps owners, modes, times, xattrs and hard links; reflinks make it cheap where the file system has them.
    const r = spawnSync('cp', ['-a', '--reflink=auto', join(copyOf, 'upper'), join(dir, 'upper')], { encoding: 'utf8' });
    if (r.status !== 0) throw new HacktreeError('IO', `cannot copy the layer ${copyOf}: ${(r.stderr || r.error?.message || '').trim()}`);
    await LayerDb.snapshot(join(copyOf, 'layer.db'), join(dir, 'layer.db'));
  }
  const layer = Layer.open(dir, { scanUpper: false });
  try { layer.db.setRules(EVERY_PATH); } finally { layer.close(); }
  atomicWriteFileSync(join(dir, BASE_FILE), JSON.stringify(base) + '\n', true);
}

/**
 * A new directory for a throwaway layer: on disk under $TMPDIR or /var/tmp (a package build can
 * outgrow a tmpfs), named so that one a killed daemon could not delete is easy to find.
 */
export function newThrowawayDir(): string {
  return fs.mkdtempSync(join(process.env.TMPDIR ?? '/var/tmp', 'hacktree-ephemeral-'));
}

/** The commit a kept layer sits on. */
export function readLayerBase(dir: string): LayerBase {
  try {
    return JSON.parse(fs.readFileSync(join(dir, BASE_FILE), 'utf8')) as LayerBase;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HacktreeError('NOT_FOUND', `${dir} is not a kept layer (it has no ${BASE_FILE}); a root's layer is named by the root's name`);
    throw new HacktreeError('BAD_REPO', `the layer ${dir} has an unreadable ${BASE_FILE}: ${(e as Error).message}`);
  }
}
