// Operating hacktree day to day, through the real CLI: status, sizes (show, log,
// root show, diff --stat, layer diff --stat, statfs), root upgrade following its
// branch and --dry-run, the one path from CLI to daemon, and progress on a terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { HACKTREE, ht, htOk, requireRoot, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, killDaemonAndWait, mountRev, requireFuse, unmountAll } from './helpers/mounts.js';
import { Repo } from '../src/store/repo.js';
import { logPath } from '../src/mount.js';

const s = scratch('hacktree-operate-');
const sysroot = join(s.dir, 'sysroot');
const H = (...a: string[]) => htOk(['--sysroot', sysroot, ...a]);
const Hr = (...a: string[]) => ht(['--sysroot', sysroot, ...a]);
const mntOf = (name: string) => join(sysroot, 'roots', name, 'mnt');
let v1 = '', v2 = '';

interface Size { bytes: number; files: number; new: { bytes: number; files: number } | null }

/** Runs without blocking the worker, which must keep answering vitest meanwhile. */
async function run(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return stdout;
}
const HA = (...a: string[]) => run(HACKTREE, ['--sysroot', sysroot, ...a]);

beforeAll(async () => {
  requireRoot('mounts roots and enters them');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  const d1 = join(s.dir, 'v1');
  await run(join(ROOT, 'scripts', 'make-busybox-root.sh'), [d1]);
  await HA('init');
  v1 = (await HA('commit', '-b', 'os', '-s', 'v1', d1)).trim();
  const d2 = join(s.dir, 'v2');
  await run('cp', ['-a', d1, d2]);
  fs.appendFileSync(join(d2, 'etc', 'passwd'), 'netd:x:998:998::/:/bin/false\n');
  fs.writeFileSync(join(d2, 'etc', 'motd'), 'welcome to v2\n');
  fs.writeFileSync(join(d2, 'big'), Buffer.alloc(30_000, 7));
  // The same bytes twice, at two paths: the store holds them once, and so do sizes.
  fs.writeFileSync(join(d2, 'big-again'), Buffer.alloc(30_000, 7));
  fs.utimesSync(join(d2, 'big-again'), fs.statSync(join(d2, 'big')).atime, fs.statSync(join(d2, 'big')).mtime);
  v2 = (await HA('commit', '-b', 'os-next', '-s', 'v2', d2)).trim();
});

afterAll(() => {
  unmountAll();
  for (const n of ['r', 'pinned']) if (isMounted(mntOf(n))) forceUnmount(mntOf(n));
  // Mounted by hand in the tests, so also taken down when one of them fails.
  for (const m of ['mnt-os', 'mnt-v2', 'mnt-size'].map((x) => join(s.dir, x))) if (isMounted(m)) forceUnmount(m);
  s.cleanup();
});

describe('sizes', () => {
  it('show, log and root show give the size and what is new against the parent', () => {
    const d = join(s.dir, 'small');
    fs.mkdirSync(d);
    fs.writeFileSync(join(d, 'a'), 'a'.repeat(1000));
    fs.writeFileSync(join(d, 'b'), 'b'.repeat(2000));
    fs.symlinkSync('a', join(d, 'link'));
    H('commit', '-b', 'small', d);
    fs.writeFileSync(join(d, 'c'), 'c'.repeat(3000));
    H('commit', '-b', 'small', d);
    const shown = JSON.parse(H('show', '--json', 'small')) as { size: Size };
    // The symlink is a file object of no bytes.
    expect(shown.size).toEqual({ bytes: 6000, files: 4, new: { bytes: 3000, files: 1 } });
    expect(H('show', 'small')).toMatch(/^Size: +6\.0 kB in 4 files, 3\.0 kB in 1 file new$/m);
    const log = JSON.parse(H('log', '--json', 'small')) as Array<{ size: Size }>;
    expect(log.map((c) => c.size)).toEqual([
      { bytes: 6000, files: 4, new: { bytes: 3000, files: 1 } },
      { bytes: 3000, files: 3, new: { bytes: 3000, files: 3 } },
    ]);
    expect(H('log', 'small').match(/^Size: /gm)).toHaveLength(2);
  });

  it('what a commit adds to its parent is measured once and recorded; fsck drops a record that does not add up', () => {
    const d = join(s.dir, 'recorded-new');
    fs.mkdirSync(d);
    fs.writeFileSync(join(d, 'a'), 'a'.repeat(1000));
    H('commit', '-b', 'recorded-new', d);
    fs.writeFileSync(join(d, 'b'), 'b'.repeat(2000));
    const c2 = H('commit', '-b', 'recorded-new', d).trim();
    const recorded = (put?: { bytes: number; files: number }): { bytes: number; files: number } | undefined => {
      const repo = Repo.open(join(sysroot, 'repo'));
      try {
        if (put) repo.index.putCommitNew(c2, put);
        return repo.index.commitNew(c2);
      } finally {
        repo.close();
      }
    };
    const logged = (): Array<Size['new']> => (JSON.parse(H('log', '--json', 'recorded-new')) as Array<{ size: Size }>).map((c) => c.size.new);
    expect(recorded()).toBeUndefined();
    expect(logged()).toEqual([{ bytes: 2000, files: 1 }, { bytes: 1000, files: 1 }]);
    expect(recorded()).toEqual({ bytes: 2000, files: 1 });
    // What log shows is the record: a wrong one shows until fsck drops it.
    recorded({ bytes: 2001, files: 1 });
    expect(logged()[0]).toEqual({ bytes: 2001, files: 1 });
    const r = Hr('fsck', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual([expect.objectContaining({ kind: 'bad-commit-new', checksum: c2 })]);
    expect(recorded()).toBeUndefined();
    expect(logged()[0]).toEqual({ bytes: 2000, files: 1 });
    expect(Hr('fsck').code).toBe(0);
    H('refs', '--delete', 'recorded-new');
  });

  it('diff --stat gives each path its sizes and the totals', () => {
    const stat = JSON.parse(H('diff', '--stat', '--json', 'os', 'os-next')) as { changes: Array<{ change: string; path: string; before: number | null; after: number | null }>; totals: Record<string, number> };
    expect(stat.changes.find((c) => c.path === '/big')).toEqual({ change: 'A', path: '/big', before: null, after: 30_000 });
    const passwd = stat.changes.find((c) => c.path === '/etc/passwd')!;
    expect(passwd.change).toBe('M');
    expect(passwd.after! - passwd.before!).toBe('netd:x:998:998::/:/bin/false\n'.length);
    const count = (c: string) => stat.changes.filter((x) => x.change === c).length;
    expect(stat.totals).toMatchObject({ added: count('A'), deleted: 0, modified: count('M') });
    expect(stat.totals.bytesAdded).toBeGreaterThanOrEqual(60_000);
    const human = H('diff', '--stat', 'os', 'os-next');
    expect(human).toMatch(/^A +\/big +\+30\.0 kB$/m);
    expect(human).toMatch(new RegExp(`^${stat.changes.length} paths changed \\(${count('A')} added, 0 deleted, ${count('M')} modified\\): \\+\\d`, 'm'));
    // Without --stat, the listing is ostree's, as before.
    expect(H('diff', 'os', 'os-next')).toMatch(/^A {4}\/big$/m);
  });

  it('a mount reports the commit size to statfs; a root mount, its layer\'s free space', () => {
    const mnt = join(s.dir, 'mnt-v2');
    mountRev(join(sysroot, 'repo'), 'os-next', mnt);
    const size = (JSON.parse(H('show', '--json', 'os-next')) as { size: Size }).size;
    const st = fs.statfsSync(mnt);
    expect(st.blocks * st.bsize).toBeGreaterThanOrEqual(size.bytes);
    expect(st.blocks * st.bsize).toBeLessThan(size.bytes + size.files * st.bsize + st.bsize);
    expect(st.files).toBe(size.files);
    expect(st.bavail).toBe(0);
    forceUnmount(mnt);

    H('root', 'create', 'pinned', v2);
    H('root', 'mount', 'pinned');
    const rs = fs.statfsSync(mntOf('pinned'));
    const layerFs = fs.statfsSync(join(sysroot, 'roots', 'pinned', 'layer', 'upper'));
    expect(rs.bavail).toBeGreaterThan(0);
    // Free space is the layer's file system's, give or take what others write meanwhile.
    expect(Math.abs(rs.bavail * rs.bsize - layerFs.bavail * layerFs.bsize)).toBeLessThan(layerFs.blocks * layerFs.bsize / 10);
    expect(rs.blocks).toBeGreaterThan(layerFs.blocks);
    expect(spawnSync('df', [mntOf('pinned')], { encoding: 'utf8' }).stdout).not.toMatch(/100%/);
    H('root', 'umount', 'pinned');
  });
});

describe('a commit\'s recorded size', () => {
  const repoDir = () => join(sysroot, 'repo');
  /** The index's record of os-next's tree, and the tree; `drop` removes the record first. */
  const record = (drop = false): { tree: string; size: { bytes: number; files: number } | undefined } => {
    const repo = Repo.open(repoDir());
    try {
      const tree = repo.loadCommitSync(v2).rootTree;
      if (drop) repo.index.removeTreeSize(tree);
      return { tree, size: repo.index.treeSize(tree) };
    } finally {
      repo.close();
    }
  };
  const statfsOf = (mnt: string): { bytes: number; files: number; log: string } => {
    fs.rmSync(logPath(mnt), { force: true });
    mountRev(repoDir(), 'os-next', mnt);
    try {
      const st = fs.statfsSync(mnt);
      return { bytes: st.blocks * st.bsize, files: st.files, log: fs.readFileSync(logPath(mnt), 'utf8') };
    } finally {
      forceUnmount(mnt);
    }
  };

  it('commit records it; a mount\'s statfs reads the record and measures nothing', () => {
    const shown = (JSON.parse(H('show', '--json', 'os-next')) as { size: Size }).size;
    expect(record().size).toEqual({ bytes: shown.bytes, files: shown.files });
    const st = statfsOf(join(s.dir, 'mnt-size'));
    expect(st.files).toBe(shown.files);
    expect(st.bytes).toBeGreaterThanOrEqual(shown.bytes);
    expect(st.log).not.toMatch(/measured the size/);
  });

  it('a commit nobody measured (ostree or a pull wrote it) is measured once, outside the daemon, and recorded', () => {
    const before = record().size!;
    expect(record(true).size).toBeUndefined();
    const first = statfsOf(join(s.dir, 'mnt-size'));
    expect(first.log).toMatch(/measured the size of tree [0-9a-f]{64} in a child process/);
    expect(first.files).toBe(before.files);
    expect(record().size).toEqual(before);
    expect(statfsOf(join(s.dir, 'mnt-size')).log).not.toMatch(/measured the size/);
  });

  it('fsck drops a record that does not add up', () => {
    const { tree, size } = record();
    const repo = Repo.open(repoDir());
    try { repo.index.putTreeSize(tree, { bytes: size!.bytes + 1, files: size!.files }); } finally { repo.close(); }
    const r = Hr('fsck', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual([expect.objectContaining({ kind: 'bad-tree-size', checksum: tree })]);
    expect(record().size).toBeUndefined();
    expect(Hr('fsck').code).toBe(0);
  });
});

describe('roots follow their branch', () => {
  it('root create records the branch; upgrade --dry-run lists changes, merges and nothing missing; upgrade with no REV follows it', () => {
    expect(H('root', 'create', 'r', 'os')).toMatch(/follows os/);
    H('enter', 'r', '--', '/bin/sh', '-c', 'echo "alice:x:1000:1000::/home/alice:/bin/sh" >> /etc/passwd');
    expect(Hr('root', 'upgrade', 'r').stderr).toMatch(/already runs .* \(the head of os\)/);
    // The branch moves on: os gets v2.
    fs.writeFileSync(join(sysroot, 'repo', 'refs', 'heads', 'os'), `${v2}\n`);
    const before = fs.readFileSync(join(sysroot, 'roots', 'r', 'root.json'), 'utf8');
    const dry = JSON.parse(H('root', 'upgrade', '--dry-run', '--json', 'r')) as { from: string; to: string; changes: Array<{ path: string }>; missing: unknown[]; merged: string[]; added: string[] };
    expect(dry).toMatchObject({ from: v1, to: v2, missing: [], merged: ['/etc/passwd'], added: ['passwd:netd'] });
    expect(dry.changes.map((c) => c.path)).toEqual(expect.arrayContaining(['/etc/passwd', '/etc/motd', '/big']));
    expect(H('root', 'upgrade', '--dry-run', 'r')).toMatch(/would merge into the layer: \/etc\/passwd/);
    expect(fs.readFileSync(join(sysroot, 'roots', 'r', 'root.json'), 'utf8')).toBe(before);
    const up = JSON.parse(H('root', 'upgrade', '--json', 'r')) as { to: string; rev: string };
    expect(up).toMatchObject({ to: v2, rev: 'os' });
    expect(H('enter', 'r', '--', '/bin/cat', '/etc/passwd')).toMatch(/^alice:.*\n(.*\n)*netd:/m);
  });

  it('a REV that names another branch makes the root follow it; a root without a branch gets a clear error', () => {
    const r = JSON.parse(H('root', 'show', '--json', 'r')) as { branch: string };
    expect(r.branch).toBe('os');
    H('root', 'rollback', 'r');
    H('root', 'upgrade', 'r', 'os-next');
    expect((JSON.parse(H('root', 'show', '--json', 'r')) as { branch: string }).branch).toBe('os-next');
    // Made from a checksum: nothing to follow.
    const e = Hr('root', 'upgrade', 'pinned');
    expect(e.code).toBe(1);
    expect(e.stderr.trim()).toMatch(/^hacktree: root 'pinned' follows no branch .*name the REV to upgrade to/);
    // A root made before roots kept their branch.
    const file = join(sysroot, 'roots', 'pinned', 'root.json');
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...rec, rev: 'os' }));
    expect(Hr('root', 'upgrade', 'pinned').stderr.trim()).toMatch(/^hacktree: root 'pinned' follows no branch \(it was made from 'os' before roots kept their branch\)/);
    expect(Hr('root', 'upgrade', '--json', 'pinned').stderr.trim()).toMatch(/^\{"error":\{"code":"NOT_FOUND"/);
  });

  it('layer diff --stat gives the sizes in the commit and in the layer', () => {
    const st = JSON.parse(H('layer', 'diff', '--stat', '--json', 'r')) as { changes: Array<{ change: string; path: string; before: number; after: number }> };
    const p = st.changes.find((c) => c.path === '/etc/passwd')!;
    expect(p.change).toBe('M');
    expect(p.after - p.before).toBe('alice:x:1000:1000::/home/alice:/bin/sh\n'.length);
    expect(H('layer', 'diff', '--stat', 'r')).toMatch(/^M +\/etc\/passwd +\d+ bytes -> \d+ bytes$/m);
    expect(H('layer', 'diff', 'r')).toMatch(/^CHANGE +PATH\nM +\/etc\/passwd$/m);
  });
});

describe('status and the path from CLI to daemon', () => {
  it('REV is resolved once: the daemon serves the commit printed, and so does the one its supervisor starts again, given the checksum', async () => {
    const mnt = join(s.dir, 'mnt-os');
    fs.mkdirSync(mnt);
    const printed = H('mount', 'os', mnt).trim();
    const listed = () => (JSON.parse(H('mounts', '--json')) as Array<{ mountpoint: string; commit: string; rev: string; pid: number }>).find((x) => x.mountpoint === mnt)!;
    const argvOf = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const m = listed();
    const osRef = join(sysroot, 'repo', 'refs', 'heads', 'os');
    const os = fs.readFileSync(osRef, 'utf8');
    expect(m.commit).toBe(os.trim());
    expect(printed).toBe(`mounted ${m.commit} at ${mnt}`);
    expect(m.rev).toBe('os');
    // bin/hacktree started this daemon itself (scripts/mount-start.sh): it was given REV, and
    // resolved it; the command printed what the daemon answered it serves.
    const argv = argvOf(m.pid);
    expect(argv[argv.indexOf(mnt) - 1]).toBe('os');
    expect(argv).toContain('--unresolved');
    // The branch moves, the daemon dies: the supervisor's next daemon gets the checksum served, not the branch.
    fs.writeFileSync(osRef, `${v1 === m.commit ? v2 : v1}\n`);
    try {
      const now = await killDaemonAndWait(mnt, ['--sysroot', sysroot]);
      expect(now.commit).toBe(m.commit);
      const again = argvOf(now.pid);
      expect(again[again.indexOf(mnt) - 1]).toBe(m.commit);
      expect(again[again.indexOf('--label') + 1]).toBe('os');
      expect(again).not.toContain('--unresolved');
    } finally {
      fs.writeFileSync(osRef, os);
    }
    forceUnmount(mnt);
    // A root's daemon too: the record's commit and the layer, both from the CLI.
    H('root', 'mount', 'r');
    const rm = (JSON.parse(H('mounts', '--json')) as Array<{ mountpoint: string; commit: string; pid: number; root?: string }>).find((x) => x.mountpoint === mntOf('r'))!;
    const rargv = fs.readFileSync(`/proc/${rm.pid}/cmdline`, 'utf8').split('\0');
    expect(rargv[rargv.indexOf(mntOf('r')) - 1]).toBe(rm.commit);
    expect(rargv).toContain(join(sysroot, 'roots', 'r', 'layer'));
  });

  it('mount knows nothing of roots, and the overlay nothing of roots either: roots call them', () => {
    const imports = (f: string) => [...fs.readFileSync(join(ROOT, f), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
    expect(imports('src/mount.ts').filter((i) => i.includes('roots/'))).toEqual([]);
    for (const f of fs.readdirSync(join(ROOT, 'src', 'overlay'))) expect(imports(join('src', 'overlay', f)).filter((i) => i.includes('roots/'))).toEqual([]);
  });

  it('status lists roots (commit, branch, rollback, layer, mount and daemon), mounts and refs', () => {
    const st = JSON.parse(H('status', '--json')) as { roots: Array<{ name: string; commit: string; branch: string | null; rollback: string[]; pending: string | null; layer: { bytes: number }; mount: { mountpoint: string; alive: boolean; pid: number } | null }>; mounts: Array<{ mountpoint: string }>; refs: Array<{ ref: string }> };
    const r = st.roots.find((x) => x.name === 'r')!;
    expect(r).toMatchObject({ commit: v2, branch: 'os-next', pending: null, mount: { mountpoint: mntOf('r'), alive: true } });
    expect(r.rollback).toEqual([v1]);
    expect(r.layer.bytes).toBeGreaterThan(0);
    expect(st.roots.find((x) => x.name === 'pinned')!.mount).toBeNull();
    expect(st.mounts.map((m) => m.mountpoint)).toContain(mntOf('r'));
    expect(st.refs.map((x) => x.ref)).toEqual(expect.arrayContaining(['os', 'os-next', 'small']));
    const human = H('status');
    expect(human).toMatch(/^ROOT +COMMIT +FOLLOWS +PENDING +ROLLBACK +LAYER +MOUNTED$/m);
    expect(human).toMatch(new RegExp(`^r +${v2.slice(0, 12)} +os-next +- +${v1.slice(0, 12)} .*${mntOf('r')} \\(daemon \\d+\\)$`, 'm'));
    expect(human).toMatch(/^MOUNTPOINT +COMMIT +REV +ROOT +DAEMON$/m);
    expect(human).toMatch(/^refs: 3 local branches/m);
    // A daemon that died, its supervisor with it (else it mounts again), shows as dead.
    const pid = r.mount!.pid;
    const sup = (JSON.parse(H('mounts', '--json')) as Array<{ pid: number; supervisor?: { pid: number } }>).find((x) => x.pid === pid)!.supervisor!.pid;
    process.kill(sup, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}/stat`) && !/\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); i++) spawnSync('sleep', ['0.1']);
    const after = JSON.parse(H('status', '--json')) as { roots: Array<{ name: string; mount: { alive: boolean } | null }> };
    expect(after.roots.find((x) => x.name === 'r')!.mount).toMatchObject({ alive: false });
    expect(H('status')).toMatch(/daemon dead/);
    H('umount', mntOf('r'));
  });

  it('listings have column headers; --json has none', () => {
    expect(H('root', 'list')).toMatch(/^NAME +COMMIT +FOLLOWS +SUBJECT +MOUNTED\n/);
    expect(H('root', 'history', 'r')).toMatch(/^DATE +ACTION +COMMIT +REV\n/);
    expect(() => JSON.parse(H('root', 'list', '--json'))).not.toThrow();
  });
});

describe('progress', () => {
  it('shows totals and the time left on a terminal, and nothing in a pipe', () => {
    const repo = join(sysroot, 'repo');
    // script(1) gives the command a terminal.
    const tty = spawnSync('script', ['-qec', `${HACKTREE} --repo ${repo} fsck`, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/fsck: \[[#-]+\] \d+\/\d+ \(\d+%\), (\S+ left|done)/);
    const piped = ht(['--repo', repo, 'fsck']);
    expect(piped.stderr).toBe('');
  });
});
