// Which objects a set of commits needs, and which of those are missing.
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import type { ObjectType } from '../objects/types.js';
import { HacktreeError } from '../../errors.js';
import { childPath as join } from '../tree-walk.js';

export interface Reachability {
  /** type + checksum of every object reachable (and present). */
  present: Set<string>;
  missing: Array<{ checksum: Checksum; type: ObjectType; path: string; commit: Checksum }>;
  corrupt: Array<{ checksum: Checksum; type: ObjectType; message: string }>;
}

export const objKey = (type: ObjectType, csum: Checksum): string => `${type}:${csum}`;

export function reachableFrom(repo: Repo, commits: Iterable<Checksum>): Reachability {
  const r: Reachability = { present: new Set(), missing: [], corrupt: [] };
  const seen = r.present;
  for (const commit of commits) {
    if (seen.has(objKey('commit', commit))) continue;
    seen.add(objKey('commit', commit));
    if (repo.hasObject(commit, 'commitmeta')) seen.add(objKey('commitmeta', commit));
    let c;
    try { c = repo.loadCommitSync(commit); } catch (e) { note(r, e, commit, 'commit', '(commit)', commit); continue; }
    const dir = (tree: Checksum, meta: Checksum, path: string): void => {
      if (!seen.has(objKey('dirmeta', meta))) {
        seen.add(objKey('dirmeta', meta));
        try { repo.loadDirMetaSync(meta); } catch (e) { note(r, e, meta, 'dirmeta', path, commit); }
      }
      if (seen.has(objKey('dirtree', tree))) return;
      seen.add(objKey('dirtree', tree));
      let t;
      try { t = repo.loadDirTreeSync(tree); } catch (e) { note(r, e, tree, 'dirtree', path, commit); return; }
      for (const f of t.files) {
        const k = objKey('file', f.checksum);
        if (seen.has(k)) continue;
        seen.add(k);
        if (!repo.hasObject(f.checksum, 'file')) r.missing.push({ checksum: f.checksum, type: 'file', path: join(path, f.name), commit });
      }
      for (const d of t.dirs) dir(d.tree, d.meta, join(path, d.name));
    };
    dir(c.rootTree, c.rootMeta, '/');
  }
  return r;
}

function note(r: Reachability, e: unknown, checksum: Checksum, type: ObjectType, path: string, commit: Checksum): void {
  if (e instanceof HacktreeError && e.code === 'MISSING_OBJECT') {
    r.present.delete(objKey(type, checksum));
    r.missing.push({ checksum, type, path, commit });
  } else if (e instanceof HacktreeError) {
    r.corrupt.push({ checksum, type, message: e.message });
  } else {
    throw e;
  }
}
