// Brings the objects of some subtrees of a commit into the repository ahead of reads: a lazy
// mount's partial commit made whole where the user knows it will be needed. Every object comes
// through the repository's fetcher (verified there) when it is not here already. Prefetching
// the whole tree completes the commit: its partial mark goes, as after a pull.
import { commitPartialPath } from '../layout.js';
import fs from 'node:fs';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { lookupPath, rootEntry, splitPath, type TreeEntry } from '../tree-walk.js';
import { noProgress, type Progress } from './progress.js';

export interface PrefetchResult {
  /** Objects the subtrees hold (each counted once), and whether the commit is now complete. */
  objects: number;
  complete: boolean;
  seconds: number;
}

/** Objects asked for at once: as many as a lazy mount's HTTP client keeps in flight (lazy-commit.ts). */
const IN_FLIGHT = 128;

export async function prefetch(repo: Repo, commit: Checksum, paths: string[], progress: Progress = noProgress): Promise<PrefetchResult> {
  const started = Date.now();
  /** Jobs asked for, by purpose, type and checksum. */
  const seen = new Set<string>();
  const queue: Array<() => Promise<void>> = [];
  let running = 0;
  let failure: unknown = null;
  let wake: () => void = () => {};

  const objects = new Set<string>();
  /** `purpose` tells apart two jobs on one object (a dirtree listed, and walked). */
  const want = (type: string, csum: Checksum, get: () => Promise<unknown>, purpose = ''): void => {
    if (seen.has(purpose + type + csum)) return;
    seen.add(purpose + type + csum);
    objects.add(type + csum);
    queue.push(async () => { await get(); });
  };
  const entry = (e: TreeEntry): void => {
    // The whole object, not only the metadata a listing needs (which a lazy mount may have from its header).
    if (e.kind === 'file') { want('file', e.checksum, () => repo.ensureObject('file', e.checksum)); return; }
    want('dirmeta', e.meta, () => repo.loadDirMeta(e.meta));
    want('dirtree', e.tree, async () => {
      const t = await repo.loadDirTree(e.tree);
      for (const f of t.files) entry({ kind: 'file', name: f.name, checksum: f.checksum });
      for (const d of t.dirs) entry({ kind: 'dir', name: d.name, tree: d.tree, meta: d.meta });
    });
  };

  /** What a mount needs to list a directory: its entries' metadata (a file's is in its object), not their subtrees. */
  const listable = (tree: Checksum): void => {
    want('dirtree', tree, async () => {
      const t = await repo.loadDirTree(tree);
      for (const f of t.files) entry({ kind: 'file', name: f.name, checksum: f.checksum });
      for (const d of t.dirs) {
        want('dirmeta', d.meta, () => repo.loadDirMeta(d.meta));
        // Read for its link count only: a key of its own, so that a walk of it still happens.
        want('dirtree', d.tree, () => repo.loadDirTree(d.tree), 'count');
      }
    }, 'list');
  };

  const wholeTree = paths.length === 0 || paths.some((p) => splitPath(p).length === 0);
  const root = await rootEntry(repo, commit);
  if (wholeTree) entry(root);
  else {
    for (const p of paths) {
      // Each directory on the way is listed by a mount that walks to the subtree.
      const parts = splitPath(p);
      for (let i = 0; i < parts.length; i++) {
        const dir = i === 0 ? root : await lookupPath(repo, commit, `/${parts.slice(0, i).join('/')}`);
        if (dir.kind === 'dir') listable(dir.tree);
      }
      entry(await lookupPath(repo, commit, p));
    }
  }

  // A pool of IN_FLIGHT workers over a queue that grows as dirtrees arrive.
  await new Promise<void>((done) => {
    const pump = (): void => {
      while (!failure && running < IN_FLIGHT && queue.length > 0) {
        const job = queue.shift()!;
        running++;
        job().catch((e: unknown) => { failure ??= e; }).finally(() => {
          running--;
          progress.update(objects.size, null, 'objects here');
          wake();
        });
      }
      if (running === 0 && (queue.length === 0 || failure)) done();
    };
    wake = pump;
    pump();
  });
  progress.finish();
  if (failure) throw failure;
  if (wholeTree) fs.rmSync(commitPartialPath(repo.path, commit), { force: true });
  return { objects: objects.size, complete: wholeTree || !fs.existsSync(commitPartialPath(repo.path, commit)), seconds: (Date.now() - started) / 1000 };
}
