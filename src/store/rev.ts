// REV syntax: a branch, REMOTE:BRANCH, a full checksum, a unique prefix, then any of git's
// ancestry suffixes: REV^ (the parent), REV~N (N generations back), REV^0 (REV itself).
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, UnknownRevError, UsageError } from '../errors.js';
import { isChecksum, type Checksum } from './checksum.js';
import type { Repo } from './repo.js';
import { formatRef, parseRefName, readRef } from './refs.js';

const HEX_PREFIX = /^[0-9a-f]{4,63}$/;
/** One ancestry suffix at the end of a REV (ref names and checksums hold neither ^ nor ~). */
const SUFFIX = /(\^|~)(\d*)$/;

export function resolveRev(repo: Repo, rev: string): Checksum {
  if (rev === '') throw new UsageError('empty revision');
  let base = rev;
  let up = 0;
  for (let m = SUFFIX.exec(base); m && m.index > 0; m = SUFFIX.exec(base)) {
    const n = m[2] === '' ? 1 : Number(m[2]);
    // REV^N names the Nth parent; an OSTree commit has one.
    if (m[1] === '^' && n > 1) throw new UnknownRevError(rev, `an OSTree commit has one parent, not ${n}`);
    up += n;
    base = base.slice(0, m.index);
  }
  let csum = resolveBase(repo, base, rev);
  for (let i = 0; i < up; i++) {
    const parent = repo.loadCommitSync(csum).parent;
    if (!parent) throw new UnknownRevError(rev, `commit ${csum.slice(0, 12)} has no parent`);
    if (!repo.hasObject(parent, 'commit')) throw new UnknownRevError(rev, `parent ${parent.slice(0, 12)} is not in this repository`);
    csum = parent;
  }
  return csum;
}

function resolveBase(repo: Repo, base: string, rev: string): Checksum {
  if (isChecksum(base)) {
    if (!repo.hasObject(base, 'commit')) throw new UnknownRevError(rev, 'no such commit in this repository');
    return base;
  }
  let fromRef: Checksum | null = null;
  try {
    fromRef = readRef(repo.path, parseRefName(base));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
  }
  if (fromRef) return fromRef;
  if (HEX_PREFIX.test(base)) {
    const matches = commitsWithPrefix(repo, base);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new HacktreeError('AMBIGUOUS_REV', `revision '${rev}' is ambiguous: ${matches.slice(0, 5).map((m) => m.slice(0, 12)).join(', ')}${matches.length > 5 ? ', …' : ''}`);
  }
  throw new UnknownRevError(rev);
}

function commitsWithPrefix(repo: Repo, prefix: string): Checksum[] {
  let names: string[];
  try { names = fs.readdirSync(join(repo.path, 'objects', prefix.slice(0, 2))); } catch { return []; }
  const rest = prefix.slice(2);
  return names
    .filter((n) => n.endsWith('.commit') && n.startsWith(rest))
    .map((n) => prefix.slice(0, 2) + n.slice(0, -'.commit'.length));
}

/**
 * The ref `rev` names as it is (BRANCH or REMOTE:BRANCH, no ancestry suffix), written as
 * formatRef writes it; null for a checksum, a prefix, or a REV with a suffix.
 */
export function refNamed(repo: Repo, rev: string): string | null {
  if (SUFFIX.test(rev) || isChecksum(rev)) return null;
  try {
    const ref = parseRefName(rev);
    return readRef(repo.path, ref) ? formatRef(ref) : null;
  } catch (e) {
    if (e instanceof UsageError) return null;
    throw e;
  }
}
