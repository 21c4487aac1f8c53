// Group `overlay`: writes into a root's layer against fuse-overlayfs over a checkout of the
// same commit, and reads of never-written files in a root against the read-only mount.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import type { Metric } from './metrics.js';
import { minbaseRoot, smallFilesTarball } from './fixtures.js';
import { mountFuseOverlayfs, mountHacktree, mountHacktreeRoot, withMount } from './mounts.js';
import { tempDir } from './paths.js';
import { dropCaches, hacktree, have, q, sh } from './run.js';

/** Unpack the tarball into MNT/var/tmp/unpack, then remove it again; one figure for both. */
const unpackAndRemove = (mnt: string, tarball: string) => {
  const d = q(join(mnt, 'var', 'tmp', 'unpack'));
  return sh(`mkdir ${d} && tar xf ${q(tarball)} -C ${d} && rm -rf ${d}`);
};
const tarUsr = (mnt: string) => sh(`tar --hard-dereference -cf - -C ${q(join(mnt, 'usr'))} . | wc -c`);

export const group: Group = {
  name: 'overlay',
  async run(ctx: Context) {
    if (!have('fuse-overlayfs')) {
      ctx.report({ group: 'overlay', name: 'unpack', what: '', unit: 's', hacktree: [], peer: null, ratio: 'hacktree/peer', target: null, skipped: 'fuse-overlayfs missing (apt-get install fuse-overlayfs)' });
      return;
    }
    const root = await minbaseRoot(ctx.log);
    const tarball = await smallFilesTarball();
    const s = new Samples();
    for (let i = 0; i < ctx.runs; i++) {
      const tmp = tempDir('overlay');
      try {
        const sysroot = join(tmp.path, 'sysroot');
        const mnt = join(tmp.path, 'mnt');
        mkdirSync(mnt);
        await hacktree(['--sysroot', sysroot, 'init']);
        await hacktree(['--sysroot', sysroot, '--fsync=false', 'commit', '-b', 'os', root]);
        await hacktree(['--sysroot', sysroot, 'root', 'create', 'bench', 'os']);
        const co = join(tmp.path, 'checkout');
        await hacktree(['--sysroot', sysroot, 'checkout', 'os', co]);
        for (const d of ['upper', 'work']) mkdirSync(join(tmp.path, d));

        s.add('unpack-h', await withMount(mountHacktreeRoot(sysroot, 'bench', mnt), async () => (await unpackAndRemove(mnt, tarball)).seconds));
        s.add('unpack-o', await withMount(mountFuseOverlayfs(co, join(tmp.path, 'upper'), join(tmp.path, 'work'), mnt), async () => (await unpackAndRemove(mnt, tarball)).seconds));

        // Reads of files never written: cold tar of /usr in the root vs the read-only mount of the same commit.
        const repo = join(sysroot, 'repo');
        await withMount(mountHacktree(repo, 'os', mnt), async () => { await tarUsr(mnt); }); // verify once, for both alike
        s.add('read-ro', await withMount(mountHacktree(repo, 'os', mnt), async () => { dropCaches(); return (await tarUsr(mnt)).seconds; }));
        s.add('read-root', await withMount(mountHacktreeRoot(sysroot, 'bench', mnt), async () => { dropCaches(); return (await tarUsr(mnt)).seconds; }));
      } finally {
        tmp.remove();
      }
    }
    const m = (x: Omit<Metric, 'group' | 'ratio'>): void => ctx.report({ group: 'overlay', ratio: 'hacktree/peer', ...x });
    m({
      name: 'unpack', unit: 's', what: 'untar 50 MB of 5,000 small files into MNT/var/tmp and rm -rf them, root layer vs fuse-overlayfs over a checkout',
      hacktree: s.get('unpack-h'), peer: { name: 'fuse-overlayfs', values: s.get('unpack-o') }, target: { on: 'ratio', cmp: '<=', value: 2 },
    });
    m({
      name: 'read-unwritten', unit: 's', what: 'cold tar of MNT/usr (never written) in a mounted root vs the read-only mount of its commit',
      hacktree: s.get('read-root'), peer: { name: 'read-only mount', values: s.get('read-ro') }, target: { on: 'ratio', cmp: '<=', value: 1.2 },
    });
  },
};
