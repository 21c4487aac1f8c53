// Group `overlay`: writes into a root's layer against fuse-overlayfs and kernel overlayfs over a
// checkout of the same commit (all three on the same disk, each on a fresh ext4 of its own), and reads of never-written files in
// a root against the read-only mount of its commit.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import type { Metric } from './metrics.js';
import { minbaseRoot, rootTarball } from './fixtures.js';
import type { Mount } from './mounts.js';
import { mountFuseOverlayfs, mountHacktree, mountHacktreeRoot, mountKernelOverlay, withMount } from './mounts.js';
import { tempDir } from './paths.js';
import { dropCaches, hacktree, have, must, q, sh } from './run.js';

/**
 * Untar the test root (~200 MB) into MNT/var/tmp/unpack and `sync`: timed until the data is on
 * disk, since a writable layer that only looks fast until the page cache is written back is not.
 * The removal afterwards is not timed.
 */
async function untarAndSync(mnt: string, tarball: string): Promise<number> {
  const d = q(join(mnt, 'var', 'tmp', 'unpack'));
  await sh('sync');
  const t = await sh(`mkdir ${d} && tar xf ${q(tarball)} -C ${d} && sync`);
  await sh(`rm -rf ${d}`);
  return t.seconds;
}
/**
 * A fresh ext4 (mkfs.ext4's defaults, so with a journal) in a sparse image on the cache's disk,
 * mounted at `dir`: each writable directory of the untar gets one of its own. The root file
 * system of the VM this was measured on is ext4 without a journal, where every new inode is
 * checked against the inodes deleted in the last half minute (ext4's recently_deleted, 60% of a
 * plain `tar x`'s busy CPU in perf): an untar there took 0.4 to 6 s by what had been deleted
 * before it, whoever wrote it, and the benchmark's ratios measured that.
 */
async function freshExt4(dir: string): Promise<string> {
  mkdirSync(dir);
  await must('truncate', ['-s', '4G', `${dir}.img`]);
  await must('mkfs.ext4', ['-q', '-F', `${dir}.img`]);
  await must('mount', ['-o', 'loop', `${dir}.img`, dir]);
  return dir;
}
const tarUsr = (mnt: string, pin = '') => sh(`${pin}tar --hard-dereference -cf - -C ${q(join(mnt, 'usr'))} . | wc -c`);
/**
 * The same cold tar with the mount's server and tar on one CPU. Each request the kernel sends a
 * FUSE server is a wake-up of the other side; on this VM (haltpoll with guest_halt_poll_ns=0) a
 * wake-up of the other, halted vCPU is a VM exit, and that is most of what the root's extra OPEN
 * and GETATTR per file cost. On one CPU neither side waits for the other to wake.
 */
async function tarUsrOneCpu(m: Mount): Promise<number> {
  for (const pid of m.serverPids()) await must('taskset', ['-a', '-p', '-c', '0', String(pid)]);
  dropCaches();
  return (await tarUsr(m.dir, 'taskset -c 0 ')).seconds;
}

export const group: Group = {
  name: 'overlay',
  async run(ctx: Context) {
    if (!have('mkfs.ext4')) throw new Error('mkfs.ext4 missing (apt-get install e2fsprogs)');
    if (!have('fuse-overlayfs')) {
      ctx.report({ group: 'overlay', name: 'untar', what: '', unit: 's', hacktree: [], peer: null, ratio: 'hacktree/peer', target: null, skipped: 'fuse-overlayfs missing (apt-get install fuse-overlayfs)' });
      return;
    }
    const root = await minbaseRoot(ctx.log);
    const tarball = await rootTarball(root);
    const s = new Samples();
    for (let i = 0; i < ctx.runs; i++) {
      const tmp = tempDir('overlay');
      try {
        const sysroot = join(await freshExt4(join(tmp.path, 'hacktree')), 'sysroot');
        const mnt = join(tmp.path, 'mnt');
        mkdirSync(mnt);
        await hacktree(['--sysroot', sysroot, 'init']);
        await hacktree(['--sysroot', sysroot, '--fsync=false', 'commit', '-b', 'os', root]);
        await hacktree(['--sysroot', sysroot, 'root', 'create', 'bench', 'os']);
        const co = join(tmp.path, 'checkout');
        await hacktree(['--sysroot', sysroot, 'checkout', 'os', co]);
        const overlayDirs = async (kind: string): Promise<[string, string]> => {
          const fresh = await freshExt4(join(tmp.path, kind));
          const upper = join(fresh, 'upper'), work = join(fresh, 'work');
          mkdirSync(upper); mkdirSync(work);
          return [upper, work];
        };
        const untar = (mounting: Promise<Mount>) => withMount(mounting, () => untarAndSync(mnt, tarball));

        s.add('untar-h', await untar(mountHacktreeRoot(sysroot, 'bench', mnt)));
        s.add('untar-np', await untar(mountHacktreeRoot(sysroot, 'bench', mnt, ['nopassthrough'])));
        s.add('untar-o', await untar(mountFuseOverlayfs(co, ...(await overlayDirs('fuse')), mnt)));
        s.add('untar-k', await untar(mountKernelOverlay(co, ...(await overlayDirs('kernel')), mnt)));

        // Reads of files never written: cold tar of /usr in the root vs the read-only mount of the same commit.
        const repo = join(sysroot, 'repo');
        await withMount(mountHacktree(repo, 'os', mnt), async () => { await tarUsr(mnt); }); // verify once, for both alike
        s.add('read-ro', await withMount(mountHacktree(repo, 'os', mnt), async () => { dropCaches(); return (await tarUsr(mnt)).seconds; }));
        s.add('read-root', await withMount(mountHacktreeRoot(sysroot, 'bench', mnt), async () => { dropCaches(); return (await tarUsr(mnt)).seconds; }));
        s.add('read-root-np', await withMount(mountHacktreeRoot(sysroot, 'bench', mnt, ['nopassthrough']), async () => { dropCaches(); return (await tarUsr(mnt)).seconds; }));
        s.add('read-ro-1cpu', await withMount(mountHacktree(repo, 'os', mnt), tarUsrOneCpu));
        s.add('read-root-1cpu', await withMount(mountHacktreeRoot(sysroot, 'bench', mnt), tarUsrOneCpu));
      } finally {
        tmp.remove();
      }
    }
    const m = (x: Omit<Metric, 'group' | 'ratio'>): void => ctx.report({ group: 'overlay', ratio: 'hacktree/peer', ...x });
    const what = 'untar the test root (~200 MB) into MNT/var/tmp and sync';
    m({
      name: 'untar', unit: 's', what: `${what}: root layer vs fuse-overlayfs over a checkout`,
      hacktree: s.get('untar-h'), peer: { name: 'fuse-overlayfs', values: s.get('untar-o') }, target: { on: 'ratio', cmp: '<=', value: 0.6 },
    });
    m({
      name: 'untar-kernel', unit: 's', what: `${what}: root layer vs kernel overlayfs over a checkout, same disk`,
      hacktree: s.get('untar-h'), peer: { name: 'kernel overlayfs', values: s.get('untar-k') }, target: null,
    });
    m({
      name: 'untar-passthrough', unit: 's', what: `${what}: root layer (its files passed through) vs the same with -o nopassthrough (each write through the daemon)`,
      hacktree: s.get('untar-h'), peer: { name: 'nopassthrough', values: s.get('untar-np') }, target: null,
    });
    m({
      name: 'read-unwritten', unit: 's', what: 'cold tar of MNT/usr (never written) in a mounted root vs the read-only mount of its commit',
      hacktree: s.get('read-root'), peer: { name: 'read-only mount', values: s.get('read-ro') }, target: { on: 'ratio', cmp: '<=', value: 1.05 },
    });
    m({
      name: 'read-unwritten-passthrough', unit: 's', what: 'the same cold tar in the root (its files passed through) vs the root mounted -o nopassthrough (each READ through the daemon)',
      hacktree: s.get('read-root'), peer: { name: 'nopassthrough', values: s.get('read-root-np') }, target: null,
    });
    m({
      name: 'read-unwritten-one-cpu', unit: 's', what: 'the cold tar of read-unwritten with tar and each mount\'s server on CPU 0: the root\'s extra requests without a wake-up of another CPU each',
      hacktree: s.get('read-root-1cpu'), peer: { name: 'read-only mount', values: s.get('read-ro-1cpu') }, target: null,
    });
  },
};
