// What changed between two commits: added, deleted and modified paths.
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { childPath as child, listDir, type TreeEntry } from '../tree-walk.js';

export interface DiffEntry { change: 'A' | 'D' | 'M'; path: string }

export async function diffCommits(repo: Repo, from: Checksum, to: Checksum): Promise<DiffEntry[]> {
  const [a, b] = await Promise.all([repo.loadCommit(from), repo.loadCommit(to)]);
  const out: DiffEntry[] = [];
  if (a.rootMeta !== b.rootMeta) out.push({ change: 'M', path: '/' });
  await diffDirs(repo, a.rootTree, b.rootTree, '/', out);
  return out;
}

async function diffDirs(repo: Repo, ta: Checksum, tb: Checksum, path: string, out: DiffEntry[]): Promise<void> {
  if (ta === tb) return;
  const [la, lb] = await Promise.all([listDir(repo, ta), listDir(repo, tb)]);
  const mb = new Map(lb.map((e) => [e.name, e]));
  const ma = new Map(la.map((e) => [e.name, e]));
  const names = [...new Set([...ma.keys(), ...mb.keys()])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  for (const name of names) {
    const ea = ma.get(name), eb = mb.get(name), p = child(path, name);
    if (!ea) { out.push({ change: 'A', path: p }); continue; }
    if (!eb) { out.push({ change: 'D', path: p }); continue; }
    if (ea.kind !== eb.kind) { out.push({ change: 'D', path: p }, { change: 'A', path: p }); continue; }
    if (ea.kind === 'file') {
      if (ea.checksum !== (eb as TreeEntry & { kind: 'file' }).checksum) out.push({ change: 'M', path: p });
      continue;
    }
    const db = eb as TreeEntry & { kind: 'dir' };
    if (ea.meta !== db.meta) out.push({ change: 'M', path: p });
    await diffDirs(repo, ea.tree, db.tree, p, out);
  }
}
