// Group `commit`: committing the test root into a fresh bare-user repo, hacktree against ostree,
// and re-committing the unchanged tree (hacktree's stat cache means it reads no file contents).
// Page cache: the tree is read once before the runs, so every commit reads it warm and the
// comparison is of the stores, not of the disk. `sync` before each timed commit, so one commit's
// writeback is not billed to the next. Both tools sync the repo before returning (their default).
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import { minbaseRoot } from './fixtures.js';
import { tempDir } from './paths.js';
import { hacktree, have, must, q, sh, syncDisks } from './run.js';

const ostreeCommit = (repo: string, dir: string) => must('ostree', [`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${dir}`]);
const hacktreeCommit = (repo: string, dir: string) => hacktree(['--repo', repo, 'commit', '-b', 'os', dir]);

/** `ostree ls -R -C os` of both repos must be identical: same tree, same checksums. */
async function sameTree(ctx: Context, name: string, ostreeRepo: string, hacktreeRepo: string): Promise<void> {
  const ls = async (r: string) => (await must('ostree', [`--repo=${r}`, 'ls', '-R', '-C', 'os'])).stdout;
  const [a, b] = [await ls(ostreeRepo), await ls(hacktreeRepo)];
  const al = a.split('\n'), bl = b.split('\n');
  const i = al.findIndex((l, k) => l !== bl[k]);
  ctx.check({
    name,
    ok: a === b,
    detail: a === b ? `${al.length - 1} entries identical`
      : `first difference at line ${i + 1}: ostree '${al[i] ?? ''}' vs hacktree '${bl[i] ?? ''}'`,
  });
}

export const group: Group = {
  name: 'commit',
  async run(ctx) {
    const root = await minbaseRoot(ctx.log);
    // Without ostree, hacktree's own figures are still measured; the comparisons are skipped.
    const withOstree = have('ostree');
    await sh(`tar cf - -C ${q(root)} . | wc -c`); // warm the page cache (see above)
    const s = new Samples();
    for (let i = 0; i < ctx.runs; i++) {
      const tmp = tempDir('commit');
      try {
        const o = join(tmp.path, 'ostree'), h = join(tmp.path, 'hacktree');
        if (withOstree) await must('ostree', [`--repo=${o}`, 'init', '--mode=bare-user']);
        await hacktree(['--repo', h, 'init']); // bare-user is the default
        // Alternate which store commits first, so neither always gets the other's leftovers.
        const firsts: Array<[string, () => ReturnType<typeof must>]> = [['hacktree', () => hacktreeCommit(h, root)]];
        if (withOstree) firsts.push(['ostree', () => ostreeCommit(o, root)]);
        for (const [who, commit] of i % 2 === 0 ? firsts.reverse() : firsts) {
          syncDisks();
          s.add(`${who}-first`, (await commit()).seconds);
        }
        if (withOstree) await sameTree(ctx, `first-commit-tree (run ${i + 1})`, o, h);
        syncDisks();
        s.add('hacktree-again', (await hacktreeCommit(h, root)).seconds);
        if (withOstree) {
          syncDisks();
          s.add('ostree-again', (await ostreeCommit(o, root)).seconds);
          await sameTree(ctx, `recommit-tree (run ${i + 1})`, o, h);
        }
      } finally {
        tmp.remove();
      }
    }
    const base = { group: 'commit', unit: 's' as const };
    const skipped = withOstree ? {} : { skipped: 'ostree missing (apt-get install ostree)' };
    ctx.report({
      ...base, name: 'first', what: 'commit -b os of the test root into a fresh bare-user repo (wall time, warm page cache, init not timed)',
      hacktree: s.get('hacktree-first'), peer: { name: 'ostree', values: s.get('ostree-first') },
      ratio: 'hacktree/peer', target: { on: 'ratio', cmp: '<=', value: 1.0 }, ...skipped,
    });
    ctx.report({
      ...base, name: 'recommit', what: 're-commit of the unchanged tree vs hacktree\'s own first commit (ratio = first/recommit)',
      hacktree: s.get('hacktree-again'), peer: { name: 'hacktree-first', values: s.get('hacktree-first') },
      ratio: 'peer/hacktree', target: { on: 'ratio', cmp: '>=', value: 2 },
    });
    ctx.report({
      ...base, name: 'recommit-vs-ostree', what: 're-commit of the unchanged tree, hacktree vs ostree (ostree re-reads and hashes every file)',
      hacktree: s.get('hacktree-again'), peer: { name: 'ostree', values: s.get('ostree-again') },
      ratio: 'hacktree/peer', target: null, ...skipped,
    });
  },
};
