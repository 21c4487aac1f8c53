// What a root needs the repository to keep, as OSTree keeps deployments: the
// commit it runs (or has pending) and up to keep-1 earlier ones to roll back to.
// prune gets this list from the command line; the store knows nothing of roots.
import fs from 'node:fs';
import { join } from 'node:path';
import { describeSystemError } from '../errors.js';
import type { Checksum } from '../store/checksum.js';
import type { KeepCommit } from '../store/ops/prune.js';
import type { RootRecord, Roots } from './roots.js';

export const DEFAULT_KEEP = 2;

export function keepOf(rec: RootRecord): number {
  const k = rec.keep;
  // A hand-edited keep below 1 would make prune keep too little: it counts as the default.
  return k !== undefined && Number.isInteger(k) && k >= 1 ? k : DEFAULT_KEEP;
}

export interface EarlierDeployment { commit: Checksum; rev: string }

/** Every commit the root ran before its current one, most recent first; `previous` leads. */
export function earlierDeployments(rec: RootRecord): EarlierDeployment[] {
  const h = rec.history ?? [];
  // An upgrade undone by an automatic rollback never counted.
  const ran = h.filter((_d, i) => h[i + 1]?.action !== 'automatic rollback').reverse();
  const all = [...(rec.previous ? [{ commit: rec.previous, rev: rec.previousRev ?? rec.previous }] : []), ...ran];
  const seen = new Set([rec.commit]);
  return all.flatMap((d) => (seen.has(d.commit) ? [] : (seen.add(d.commit), [{ commit: d.commit, rev: d.rev }])));
}

/** The earlier deployments prune keeps for the root. */
export const rollbackCommits = (rec: RootRecord): EarlierDeployment[] => earlierDeployments(rec).slice(0, keepOf(rec) - 1);

/** The commits one root needs, each once, with why. */
export function commitsNeeded(rec: RootRecord): KeepCommit[] {
  const out = new Map<Checksum, string>();
  const add = (c: Checksum | undefined, why: string) => { if (c && !out.has(c)) out.set(c, `root ${rec.name} ${why}`); };
  const p = rec.pending;
  if (p) {
    add(p.to, 'has it pending (its upgrade has not finished)');
    add(p.from, 'returns to it if its pending upgrade fails');
    // What `root rollback` returns to once a failed upgrade is undone.
    if (keepOf(rec) > 1) add(p.fromPrevious, 'may roll back to it');
  }
  add(rec.commit, 'runs it');
  if (rec.staged) add(rec.staged.commit, 'has it staged (an upgrade for its next boot or mount)');
  for (const d of rollbackCommits(rec)) add(d.commit, 'may roll back to it');
  return [...out].map(([commit, reason]) => ({ commit, reason }));
}

/**
 * The commits every root needs. A root whose record cannot be read fails the
 * whole call: prune must not guess that it needs nothing.
 */
export function commitsRootsNeed(roots: Roots): KeepCommit[] {
  let names: string[];
  try {
    names = fs.readdirSync(roots.dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw describeSystemError(e, `cannot read the roots in ${roots.dir}`);
  }
  // A directory without root.json is a root being created or removed: nothing runs it.
  return names.filter((n) => fs.existsSync(join(roots.rootDir(n), 'root.json'))).flatMap((n) => commitsNeeded(roots.get(n)));
}
