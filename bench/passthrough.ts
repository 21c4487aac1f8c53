// Group `passthrough`: what the kernel's FUSE passthrough (Linux 6.9+) would bring to reads of a
// bare-user repository, whose content objects are plain files. `ptfs` (passthrough/ptfs.c, a
// minimal read-only server on libfuse's low-level API) serves a `checkout -U` of the test root,
// whose files are hard links to the repository's objects, once with every READ crossing into
// the server and once with the kernel reading the objects itself; hacktree's read-only mount
// of the same commit and the checkout on ext4 are measured beside them. All cold (drop_caches).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import type { Metric } from './metrics.js';
import { minbaseRoot } from './fixtures.js';
import { mountHacktree, mountPtfs, withMount } from './mounts.js';
import { tempDir } from './paths.js';
import { REPO_ROOT, dropCaches, hacktree, q, sh } from './run.js';

const tar = async (dir: string): Promise<number> => (await sh(`tar --hard-dereference -cf - -C ${q(dir)} . | wc -c`)).seconds;

/** Builds ptfs with the system libfuse 3 (it is a benchmark tool: never part of dist/). */
async function buildPtfs(): Promise<string> {
  const out = join(REPO_ROOT, '.bench-dist', 'ptfs');
  await sh(`gcc -O2 -Wall -o ${q(out)} ${q(join(REPO_ROOT, 'bench', 'passthrough', 'ptfs.c'))} $(pkg-config --cflags --libs fuse3)`)
    .then((r) => { if (r.code !== 0) throw new Error(`cannot build ptfs: ${r.stderr.trim()}`); });
  return out;
}

export const group: Group = {
  name: 'passthrough',
  async run(ctx: Context) {
    const root = await minbaseRoot(ctx.log);
    const ptfs = await buildPtfs();
    const s = new Samples();
    for (let i = 0; i < ctx.runs; i++) {
      const tmp = tempDir('passthrough');
      try {
        const repo = join(tmp.path, 'repo'), co = join(tmp.path, 'checkout'), mnt = join(tmp.path, 'mnt');
        mkdirSync(mnt);
        await hacktree(['--repo', repo, 'init', '--mode', 'bare-user']);
        await hacktree(['--repo', repo, '--fsync=false', 'commit', '-b', 'os', root]);
        await hacktree(['--repo', repo, 'checkout', '-U', 'os', co]);
        const cold = (mounting: Parameters<typeof withMount>[0]) => withMount(mounting, async () => { dropCaches(); return tar(mnt); });
        await cold(mountHacktree(repo, 'os', mnt)); // verify every object once: the figure below is the read path alone
        s.add('hacktree', await cold(mountHacktree(repo, 'os', mnt)));
        s.add('ptfs', await cold(mountPtfs(ptfs, co, mnt, false)));
        s.add('ptfs-pt', await cold(mountPtfs(ptfs, co, mnt, true)));
        dropCaches();
        s.add('native', await tar(co));
        const log = await sh(`tail -1 ${q(`${mnt}.log`)}`);
        if (!/passthrough on, 0 reads/.test(log.stdout)) ctx.log(`  run ${i + 1}: ptfs did not pass reads through: ${log.stdout.trim()}`);
      } finally {
        tmp.remove();
      }
    }
    const m = (x: Omit<Metric, 'group' | 'ratio'>): void => ctx.report({ group: 'passthrough', ratio: 'hacktree/peer', ...x });
    const what = 'cold `tar | wc -c` of the test root';
    m({ name: 'ptfs-passthrough', unit: 's', what: `${what}: ptfs with passthrough vs without (every READ through the server)`,
      hacktree: s.get('ptfs-pt'), peer: { name: 'ptfs without passthrough', values: s.get('ptfs') }, target: null });
    m({ name: 'hacktree-vs-passthrough', unit: 's', what: `${what}: hacktree's read-only mount vs ptfs with passthrough`,
      hacktree: s.get('hacktree'), peer: { name: 'ptfs passthrough', values: s.get('ptfs-pt') }, target: null });
    m({ name: 'passthrough-vs-native', unit: 's', what: `${what}: ptfs with passthrough vs the checkout on ext4`,
      hacktree: s.get('ptfs-pt'), peer: { name: 'native', values: s.get('native') }, target: null });
  },
};
