// Refs: refs/heads/NAME and refs/remotes/REMOTE/NAME, one checksum per file,
// replaced atomically.
import fs from 'node:fs';
import { join, dirname } from 'node:path';
import { HacktreeError, UsageError } from '../errors.js';
import { isChecksum, type Checksum } from './checksum.js';
import { atomicWriteFileSync, fsyncDirSync } from './durable.js';

export interface RefName {
  remote: string | null;
  name: string;
}

const REF_PART = /^[A-Za-z0-9._\-]+$/;

export function parseRefName(spec: string): RefName {
  const colon = spec.indexOf(':');
  const ref = colon >= 0 ? { remote: spec.slice(0, colon), name: spec.slice(colon + 1) } : { remote: null, name: spec };
  checkRefName(ref.name);
  if (ref.remote !== null && !REF_PART.test(ref.remote)) throw new UsageError(`invalid remote name '${ref.remote}'`);
  return ref;
}

export function checkRefName(name: string): void {
  const parts = name.split('/');
  if (name === '' || parts.some((p) => !REF_PART.test(p) || p === '.' || p === '..')) {
    throw new UsageError(`invalid ref name '${name}': use letters, digits, '.', '_', '-' and '/' between parts`);
  }
}

export function formatRef(r: RefName): string {
  return r.remote ? `${r.remote}:${r.name}` : r.name;
}

function refPath(repo: string, r: RefName): string {
  return r.remote ? join(repo, 'refs', 'remotes', r.remote, r.name) : join(repo, 'refs', 'heads', r.name);
}

export function readRef(repo: string, r: RefName): Checksum | null {
  let text: string;
  try {
    text = fs.readFileSync(refPath(repo, r), 'utf8').trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw e;
  }
  if (!isChecksum(text)) throw new HacktreeError('BAD_REPO', `ref ${formatRef(r)} does not hold a checksum`);
  return text;
}

export function writeRef(repo: string, r: RefName, csum: Checksum, durable: boolean): void {
  const path = refPath(repo, r);
  fs.mkdirSync(dirname(path), { recursive: true });
  atomicWriteFileSync(path, csum + '\n', durable);
}

export function deleteRef(repo: string, r: RefName, durable: boolean): boolean {
  try {
    fs.unlinkSync(refPath(repo, r));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (durable) fsyncDirSync(dirname(refPath(repo, r)));
  return true;
}

export function listRefs(repo: string): Array<{ ref: RefName; checksum: Checksum }> {
  const out: Array<{ ref: RefName; checksum: Checksum }> = [];
  const walk = (dir: string, prefix: string, remote: string | null) => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), name, remote);
      else if (e.isFile() && !e.name.startsWith('.')) {
        const ref = { remote, name };
        const checksum = readRef(repo, ref);
        if (checksum) out.push({ ref, checksum });
      }
    }
  };
  walk(join(repo, 'refs', 'heads'), '', null);
  let remotes: string[] = [];
  try { remotes = fs.readdirSync(join(repo, 'refs', 'remotes')).sort(); } catch { /* none */ }
  for (const remote of remotes) walk(join(repo, 'refs', 'remotes', remote), '', remote);
  return out;
}
