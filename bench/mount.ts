// Group `mount`: serving a commit over FUSE, against squashfuse serving the same tree from a
// zstd squashfs image and against the tree on the native disk, all in the same run.
// "Cold" = a fresh mount, then `sync; echo 3 > /proc/sys/vm/drop_caches`, for every peer alike.
// The walk/read metrics use a fresh repo per run: hacktree remembers which objects a mount has
// verified, and a repo reused across runs would hide the verification cost after run 1.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import type { Metric } from './metrics.js';
import { minbaseRoot, mountRepo, squashImage } from './fixtures.js';
import type { Mount } from './mounts.js';
import { mountHacktree, mountSquashfuse, peakRssMB, withMount } from './mounts.js';
import { tempDir } from './paths.js';
import { dropCaches, hacktree, have, must, q, sh } from './run.js';

const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
const find = (dir: string) => sh(`find ${q(dir)} -printf '%s %m %u %p\\n' > /dev/null`);
/**
 * GNU tar skips reading files when writing to /dev/null; a pipe into wc makes it read them.
 * --hard-dereference: the test root has hardlinks, which neither FUSE peer presents as such; with
 * it, native tar also archives every link's content, so all peers do the same work and the byte
 * counts can be compared.
 */
async function tar(dir: string): Promise<{ seconds: number; bytes: number }> {
  const r = await sh(`tar --hard-dereference -cf - -C ${q(dir)} . | wc -c`);
  return { seconds: r.seconds, bytes: Number(r.stdout.trim()) };
}

/** Wall time from spawning the mount command to the end of the first `ls` in it. */
async function mountAndLs(mount: () => Promise<Mount>, sub: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  return withMount(mount(), async (m) => {
    await must('ls', [join(m.dir, sub)]);
    return since(t0);
  });
}

export const group: Group = {
  name: 'mount',
  async run(ctx: Context) {
    const root = await minbaseRoot(ctx.log);
    const missing = !have('squashfuse') ? 'squashfuse missing (apt-get install squashfuse)'
      : !have('mksquashfs') ? 'mksquashfs missing (apt-get install squashfs-tools)' : undefined;
    const img = missing === undefined ? await squashImage(root) : null;
    const big = await mountRepo(root, ctx.log);
    const s = new Samples();
    for (let i = 0; i < ctx.runs; i++) {
      const tmp = tempDir('mount');
      try {
        const mnt = join(tmp.path, 'mnt');
        const repo = join(tmp.path, 'repo');
        mkdirSync(mnt);
        await hacktree(['--repo', repo, 'init']);
        await hacktree(['--repo', repo, '--fsync=false', 'commit', '-b', 'os', root]);
        const hMount = (r = repo, rev = 'os', opts: string[] = []) => () => mountHacktree(r, rev, mnt, opts);
        const sMount = () => mountSquashfuse(img!, mnt);

        // (a) mount + first ls; the page cache is warm, the mount itself is fresh.
        s.add('ls-os', await mountAndLs(hMount(big, 'os'), 'usr/bin'));
        s.add('ls-usr', await mountAndLs(hMount(big, 'usr'), 'bin'));
        // The same first listing of a commit ostree wrote: no tree stats yet, so the mount reads
        // each entry's object (and records the directory for the next time).
        if (have('ostree')) {
          const o = join(tmp.path, 'ostree');
          await must('ostree', [`--repo=${o}`, 'init', '--mode=bare-user']);
          await must('ostree', [`--repo=${o}`, 'commit', '-b', 'os', `--tree=dir=${root}`]);
          s.add('ls-ostree', await mountAndLs(hMount(o, 'os'), 'usr/bin'));
        }
        // The mount alone (until the kernel lists it), without the listing of directories of different sizes.
        s.add('mount-os', await withMount(hMount(big, 'os')(), async (m) => m.seconds));
        s.add('mount-usr', await withMount(hMount(big, 'usr')(), async (m) => m.seconds));
        if (img) s.add('ls-squash', await mountAndLs(sMount, 'usr/bin'));

        // (b) cold find
        s.add('find-h', await withMount(hMount()(), async () => { dropCaches(); return (await find(mnt)).seconds; }));
        if (img) s.add('find-s', await withMount(sMount(), async () => { dropCaches(); return (await find(mnt)).seconds; }));

        // (f) cold tar without verification, before the default mount has verified anything.
        const none = await withMount(hMount(repo, 'os', ['verify=none'])(), async () => { dropCaches(); return tar(mnt); });
        s.add('tar-cold-noverify', none.seconds);

        // (c), (d), (e): cold tar, warm tar on the same mount, then the daemon's peak RSS.
        const cold = await withMount(hMount()(), async (m) => {
          dropCaches();
          const c = await tar(mnt);
          s.add('tar-warm-h', (await tar(mnt)).seconds);
          const pids = m.serverPids();
          const rss = peakRssMB(pids);
          if (rss === null) ctx.log(`  run ${i + 1}: no hacktree daemon found for ${mnt} (pgrep -f)`);
          else s.add('rss-h', rss);
          return c;
        });
        s.add('tar-cold-h', cold.seconds);
        const squashCold = !img ? null : await withMount(sMount(), async (m) => {
          dropCaches();
          const c = await tar(mnt);
          const rss = peakRssMB(m.serverPids());
          if (rss !== null) s.add('rss-s', rss);
          return c;
        });
        if (squashCold) s.add('tar-cold-s', squashCold.seconds);
        dropCaches();
        s.add('tar-native-cold', (await tar(root)).seconds);
        const native = await tar(root); // the page cache is warm now
        s.add('tar-native', native.seconds);

        // (g) the daemon's memory after walking the large tree (this machine's /usr, ~139k entries).
        s.add('rss-usr', await withMount(hMount(big, 'usr')(), async (m) => {
          dropCaches();
          await find(mnt);
          return peakRssMB(m.serverPids()) ?? NaN;
        }));

        const counts = { hacktree: cold.bytes, 'hacktree verify=none': none.bytes, squashfuse: squashCold?.bytes ?? null, native: native.bytes };
        const ok = Object.values(counts).every((b) => b === null || b === native.bytes);
        ctx.check({ name: `tar-bytes (run ${i + 1})`, ok, detail: Object.entries(counts).map(([k, v]) => `${k} ${v ?? '—'}`).join(', ') });
      } finally {
        tmp.remove();
      }
    }

    const squash = (values: number[]) => ({ name: 'squashfuse', values });
    const m = (x: Omit<Metric, 'group' | 'ratio'> & Partial<Pick<Metric, 'ratio'>>, needsSquash = true): void =>
      ctx.report({ group: 'mount', ratio: 'hacktree/peer', ...x, ...(needsSquash && missing !== undefined ? { skipped: missing } : {}) });
    m({
      name: 'ls-small', unit: 's', what: 'mount + first `ls MNT/usr/bin`, test root (wall time from spawning mount; warm page cache)',
      hacktree: s.get('ls-os'), peer: img ? squash(s.get('ls-squash')) : null, target: { on: 'hacktree', cmp: '<=', value: 0.3 },
    }, false);
    m({
      name: 'ls-usr', unit: 's', what: 'mount + first `ls MNT/bin`, this machine\'s /usr (~20× the entries; its bin/ has ~4× the entries of the test root\'s usr/bin) vs the test root',
      hacktree: s.get('ls-usr'), peer: { name: 'hacktree-small-root', values: s.get('ls-os') }, target: { on: 'ratio', cmp: '<=', value: 1.0 },
    }, false);
    m({
      name: 'ls-unrecorded', unit: 's', what: 'mount + first `ls MNT/usr/bin` of the test root committed by ostree (no tree stats: one object read per entry) vs committed by hacktree',
      hacktree: s.get('ls-ostree'), peer: { name: 'hacktree-committed', values: s.get('ls-os') }, target: null,
    }, false);
    m({
      name: 'mount-usr', unit: 's', what: 'the mount alone (spawn to listed in /proc/mounts), this machine\'s /usr vs the test root: nothing walks the tree',
      hacktree: s.get('mount-usr'), peer: { name: 'hacktree-small-root', values: s.get('mount-os') }, target: null,
    }, false);
    m({
      name: 'find-cold', unit: 's', what: "cold `find MNT -printf '%s %m %u %p\\n' > /dev/null` on a fresh mount (drop_caches)",
      hacktree: s.get('find-h'), peer: squash(s.get('find-s')), target: { on: 'ratio', cmp: '<=', value: 1.2 },
    });
    m({
      name: 'tar-cold', unit: 's', what: 'cold `tar --hard-dereference -cf - -C MNT . | wc -c` on a fresh mount (drop_caches)',
      hacktree: s.get('tar-cold-h'), peer: squash(s.get('tar-cold-s')), target: { on: 'ratio', cmp: '<=', value: 1 },
    });
    m({
      name: 'tar-cold-native', unit: 's', what: 'the same cold tar (drop_caches) vs the tree on ext4',
      hacktree: s.get('tar-cold-h'), peer: { name: 'native', values: s.get('tar-native-cold') }, target: null,
    }, false);
    m({
      name: 'tar-warm', unit: 's', what: 'second tar on the same mount vs the same tar of DIR on ext4 (warm)',
      hacktree: s.get('tar-warm-h'), peer: { name: 'native', values: s.get('tar-native') }, target: { on: 'ratio', cmp: '<=', value: 1.05 },
    }, false);
    m({
      name: 'rss', unit: 'MB', what: 'daemon peak RSS (VmHWM) after a cold and a warm tar; squashfuse after its cold tar, for reference',
      hacktree: s.get('rss-h'), peer: img ? squash(s.get('rss-s')) : null, target: null,
    }, false);
    m({
      name: 'rss-usr', unit: 'MB', what: "daemon peak RSS (VmHWM) after a cold `find` of this machine's /usr (~139k entries)",
      hacktree: s.get('rss-usr').filter((v) => !Number.isNaN(v)), peer: null, target: { on: 'hacktree', cmp: '<=', value: 150 },
    }, false);
    m({
      name: 'verify-cost', unit: 's', what: 'cold tar, default (verifying) mount vs `-o verify=none`, fresh repo each run',
      hacktree: s.get('tar-cold-h'), peer: { name: 'verify=none', values: s.get('tar-cold-noverify') }, target: null,
    }, false);
  },
};
