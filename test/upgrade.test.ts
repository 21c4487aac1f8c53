// Upgrade, rollback, enter and boot, for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { HACKTREE, ht, htOk, requireRoot, sh, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, requireFuse, unmountAll } from './helpers/mounts.js';

const s = scratch('hacktree-upgrade-');
const sysroot = join(s.dir, 'sysroot');
const H = (...a: string[]) => htOk(['--sysroot', sysroot, ...a]);
const Hr = (...a: string[]) => ht(['--sysroot', sysroot, ...a]);
const show = (name: string) => JSON.parse(H('root', 'show', '--json', name)) as { commit: string; conflicts?: Array<{ path: string }> };
const mnt = (name: string) => join(sysroot, 'roots', name, 'mnt');
/** This test's mounts (other work on the machine mounts and unmounts elsewhere meanwhile). */
const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ').slice(4).join(' ')).filter((l) => l.startsWith(s.dir)).sort().join('\n');
let v1 = '', v2 = '', v3 = '';

function tree(name: string, edit: (dir: string) => void): string {
  const dir = join(s.dir, name);
  sh('cp', ['-a', join(s.dir, 'v1'), dir]);
  edit(dir);
  return dir;
}

beforeAll(() => {
  requireRoot('mounts roots, enters namespaces');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [join(s.dir, 'v1')]);
  H('init');
  v1 = H('commit', '-b', 'os', '-s', 'v1', join(s.dir, 'v1')).trim();
  const d2 = tree('v2', (d) => {
    fs.appendFileSync(join(d, 'etc', 'passwd'), 'netd:x:998:998::/:/bin/false\n');
    fs.appendFileSync(join(d, 'etc', 'group'), 'netd:x:998:\n');
    fs.writeFileSync(join(d, 'etc', 'motd'), 'welcome to v2\n');
  });
  v2 = H('commit', '-b', 'os2', '-s', 'v2', d2).trim();
  const d3 = tree('v3', (d) => {
    fs.cpSync(join(s.dir, 'v2', 'etc'), join(d, 'etc'), { recursive: true });
    fs.mkdirSync(join(d, 'usr', 'lib', 'hacktree'), { recursive: true });
    fs.writeFileSync(join(d, 'usr', 'lib', 'hacktree', 'post-upgrade'), '#!/bin/sh\necho "check: $(cat /etc/motd)"\ntest -e /etc/required\n', { mode: 0o755 });
  });
  v3 = H('commit', '-b', 'os3', '-s', 'v3', d3).trim();
});

afterAll(() => {
  unmountAll();
  for (const n of ['a', 'k', 'b', 'c', 's', 'bc', 'st']) if (isMounted(mnt(n))) forceUnmount(mnt(n));
  s.cleanup();
});

describe('upgrade and rollback', () => {
  it('merges account files, reports other overlaps as conflicts, and rolls back', () => {
    H('root', 'create', 'a', 'os', '--writable', '/etc/motd');
    H('enter', 'a', '--', '/bin/sh', '-c', 'echo "alice:x:1000:1000::/home/alice:/bin/sh" >> /etc/passwd; echo "alice:x:1000:" >> /etc/group; echo mine > /etc/motd');
    const r = JSON.parse(H('root', 'upgrade', '--json', 'a', 'os2'));
    expect(r.merged).toEqual(['/etc/group', '/etc/passwd']);
    expect(r.added).toEqual(['group:netd', 'passwd:netd']);
    expect(r.conflicts).toEqual([{ path: '/etc/motd', reason: "changed in the layer and in the new commit; the layer's version is kept" }]);
    expect(show('a').commit).toBe(v2);
    expect(show('a').conflicts?.map((c) => c.path)).toEqual(['/etc/motd']);
    expect(H('root', 'show', 'a')).toMatch(/open conflicts[\s\S]*\/etc\/motd/);
    const out = H('enter', 'a', '--', '/bin/sh', '-c', 'grep -c -e ^alice: -e ^netd: /etc/passwd; cat /etc/motd');
    expect(out.split('\n').slice(0, 2)).toEqual(['2', 'mine']);
    H('root', 'rollback', 'a');
    expect(show('a').commit).toBe(v1);
    expect(JSON.parse(H('root', 'history', '--json', 'a')).map((d: { action: string }) => d.action)).toEqual(['create', 'upgrade', 'rollback']);
  });

  it('a failing post-upgrade check rolls back by itself and shows its output; a passing one keeps the upgrade', () => {
    H('root', 'create', 'c', 'os');
    const r = Hr('root', 'upgrade', 'c', 'os3');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/post-upgrade check failed \(exit 1\): root 'c' is back on/);
    expect(r.stderr).toContain('check: welcome to v2');
    expect(show('c').commit).toBe(v1);
    expect(JSON.parse(H('root', 'history', '--json', 'c')).at(-1).action).toBe('automatic rollback');
    const ok = JSON.parse(H('root', 'upgrade', '--json', 'c', 'os3', '--check', 'test -e /usr/lib/hacktree/post-upgrade'));
    expect(ok.checked).toBe(true);
    expect(show('c').commit).toBe(v3);
    expect(H('root', 'upgrade', 'c', 'os2', '--check', 'true')).toMatch(/check passed/);
    expect(show('c').commit).toBe(v2);
  });

  it('stages the upgrade of a mounted root: the mount keeps its commit, the next mount carries it out', () => {
    const staged = (name: string) => (JSON.parse(H('root', 'show', '--json', name)) as { staged?: { commit: string; rev: string; branch?: string } }).staged;
    const netd = () => fs.readFileSync(join(mnt('c'), 'etc', 'passwd'), 'utf8').includes('netd:');
    H('root', 'mount', 'c');
    try {
      expect(netd()).toBe(true); // v2's user
      const r = Hr('root', 'upgrade', 'c', 'os');
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`root c: ${v2.slice(0, 12)} -> ${v1.slice(0, 12)} staged: the mount at ${mnt('c')} keeps serving ${v2.slice(0, 12)}; the next boot or mount runs ${v1.slice(0, 12)}, on trial until its boot is confirmed\n`);
      expect(show('c').commit).toBe(v2);
      expect(staged('c')).toMatchObject({ commit: v1, rev: 'os', branch: 'os' });
      expect(H('root', 'show', 'c')).toMatch(new RegExp(`staged ${v1} \\(os\\) at .*: the next boot or mount runs it`));
      expect(H('root', 'history', 'c').trim().split('\n').at(-1)).toMatch(new RegExp(`staged +${v1.slice(0, 12)} +os \\(runs from the next boot or mount\\)$`));
      expect(H('status')).toMatch(new RegExp(`\\bc +${v2.slice(0, 12)} .*${v1.slice(0, 12)} \\(staged\\)`));
      // prune keeps what is staged.
      const kept = (JSON.parse(H('prune', '--dry-run', '--json')) as { kept: Array<{ commit: string; reasons: string[] }> }).kept;
      expect(kept.find((k) => k.commit === v1)?.reasons).toContain('root c has it staged (an upgrade for its next boot or mount)');
      expect(netd()).toBe(true); // the running mount keeps serving v2
      expect(Hr('root', 'upgrade', 'c', 'os', '--check', 'true').stderr).toContain('its upgrade is staged for the next boot or mount, where --check cannot run');
      expect(Hr('root', 'rollback', 'c').stderr).toMatch(/is mounted at .*unmount it first/);
      // Upgrading to the commit it runs drops what was staged; staging again puts it back.
      expect(H('root', 'upgrade', 'c', 'os2')).toBe(`root c: dropped the upgrade to ${v1.slice(0, 12)} staged for the next boot or mount; stays on ${v2.slice(0, 12)}\n`);
      expect(staged('c')).toBeUndefined();
      H('root', 'upgrade', 'c', 'os');
    } finally {
      H('root', 'umount', 'c');
    }
    expect(H('root', 'mount', 'c')).toMatch(new RegExp(`^root c: ${v2.slice(0, 12)} -> ${v1.slice(0, 12)}\nmounted root c \\(${v1.slice(0, 12)}\\)`));
    try {
      expect(netd()).toBe(false);
      expect(show('c').commit).toBe(v1);
      expect(staged('c')).toBeUndefined();
      expect(JSON.parse(H('root', 'history', '--json', 'c')).at(-1)).toMatchObject({ action: 'upgrade', commit: v1, rev: 'os' });
    } finally {
      H('root', 'umount', 'c');
    }
  });

  it('kill -9 at 50 random instants: always on the old or the new commit, mountable, layer intact', async () => {
    H('root', 'create', 'k', 'os');
    H('enter', 'k', '--', '/bin/sh', '-c', 'echo "alice:x:1000:1000::/home/alice:/bin/sh" >> /etc/passwd; echo "alice:x:1000:" >> /etc/group');
    const upper = join(sysroot, 'roots', 'k', 'layer', 'upper', 'etc');
    const saved = { passwd: fs.readFileSync(join(upper, 'passwd')), group: fs.readFileSync(join(upper, 'group')) };
    const seen = { old: 0, new: 0 };
    for (let i = 0; i < 50; i++) {
      // Start each round on v1 with the layer as alice left it, so every upgrade merges.
      if (show('k').commit !== v1) H('root', 'rollback', 'k');
      for (const [f, b] of Object.entries(saved)) fs.writeFileSync(join(upper, f), b);
      const child = spawn(HACKTREE, ['--sysroot', sysroot, 'root', 'upgrade', 'k', 'os2'], { stdio: 'ignore' });
      const closed = new Promise((r) => child.once('close', r));
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 550)));
      child.kill('SIGKILL');
      await closed;
      const at = show('k').commit;
      expect([v1, v2]).toContain(at);
      seen[at === v1 ? 'old' : 'new']++;
      H('root', 'mount', 'k');
      try {
        const passwd = fs.readFileSync(join(mnt('k'), 'etc', 'passwd'), 'utf8');
        expect(passwd).toMatch(/^alice:/m);
        if (at === v2) expect(passwd).toMatch(/^netd:/m);
        expect(fs.readFileSync(join(mnt('k'), 'etc', 'group'), 'utf8')).toMatch(/^alice:/m);
      } finally {
        H('root', 'umount', 'k');
      }
      expect(fs.existsSync(join(sysroot, 'roots', 'k', 'txn')) ? fs.readdirSync(join(sysroot, 'roots', 'k', 'txn')) : []).toEqual([]);
    }
    // Both outcomes happen over 50 rounds; which ones is up to the kill's timing.
    expect(seen.old + seen.new).toBe(50);
  }, 600_000);
});

describe('enter', () => {
  it("returns CMD's exit code and leaves the host's mount table as it was", () => {
    const before = mountinfo();
    const r = Hr('enter', 'a', '--', '/bin/sh', '-c', 'test "$PPID" = 1 && grep -q "fuse.hacktree" /proc/self/mountinfo && test -f /etc/hostname && exit 7');
    expect(r.code).toBe(7);
    expect(mountinfo()).toBe(before);
  });

  it('passes on a signal death as 128+N, and the host mount table is still as it was', async () => {
    const before = mountinfo();
    // CMD is PID 1 of its namespace, so it is killed from the host, as an admin would.
    const child = spawn(HACKTREE, ['--sysroot', sysroot, 'enter', 'a', '--', '/bin/sleep', '300'], { stdio: 'ignore' });
    const code = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    let pid = '';
    for (let i = 0; i < 100 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pid = spawnSync('pgrep', ['-x', '-f', '/bin/sleep 300'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '';
    }
    expect(pid).not.toBe('');
    process.kill(Number(pid), 'SIGKILL');
    expect(await code).toBe(128 + 9);
    expect(mountinfo()).toBe(before);
  });

  it('binds $HOME with --bind-home', () => {
    const home = join(s.dir, 'home', 'tester');
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(join(home, 'note'), 'from the host\n');
    const r = spawnSync(HACKTREE, ['--sysroot', sysroot, 'enter', 'a', '--bind-home', '--', '/bin/cat', join(home, 'note')], { encoding: 'utf8', env: { ...process.env, HOME: home } });
    expect(r.stdout).toBe('from the host\n');
  });
});

/**
 * Boots root NAME in new mount and PID namespaces, as an initramfs would; its init prints what it
 * sees. Asynchronous: a boot starts node three times, and a busy machine must not block vitest's worker.
 */
function boot(name: string, init = '/sbin/fake-init'): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return run('unshare', ['-m', '-p', '-f', HACKTREE, '--sysroot', sysroot, 'boot', name, '--init', init], join(s.dir, 'run'));
}

function run(cmd: string, args: string[], runDir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HACKTREE_RUN_DIR: runDir } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('the boot helper', () => {
  it('pivots into the root inside unshare -m -p -f and execs init', async () => {
    const d = tree('vboot', (dir) => {
      fs.writeFileSync(join(dir, 'sbin', 'fake-init'), '#!/bin/sh\necho "init pid $$"\necho "root: $(ls / | tr "\\n" " ")"\necho "hostname: $(cat /etc/hostname)"\necho "proc: $(test -e /proc/self/mountinfo && echo yes)"\n', { mode: 0o755 });
    });
    H('commit', '-b', 'boot', d);
    H('root', 'create', 'b', 'boot');
    const before = mountinfo();
    const r = await boot('b');
    expect(r.stderr).toBe(`root b: booting ${show('b').commit.slice(0, 12)}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('init pid 1');
    expect(r.stdout).toMatch(/root: bin dev etc home proc root run sbin sys tmp usr var/);
    expect(r.stdout).toContain('hostname: busybox');
    expect(r.stdout).toContain('proc: yes');
    expect(mountinfo()).toBe(before);
  });
});

describe('a booted system\'s / (mount -o boot)', () => {
  // systemd-shutdown stops every process, the daemon serving / too (kill(-1, SIGSTOP)), and then
  // walks paths on /: answered by the kernel alone, or PID 1 waits for the stopped daemon for ever.
  it('answers the path walks of systemd\'s shutdown with its daemon stopped', async () => {
    H('commit', '-b', 'stopped', join(s.dir, 'v1'));
    H('root', 'create', 's', 'stopped');
    const runDir = join(s.dir, 'run-stopped');
    const env = { ...process.env, HACKTREE_RUN_DIR: runDir };
    htOk(['--sysroot', sysroot, 'root', 'mount', 's', mnt('s'), '-o', 'boot'], { env });
    const pid = (JSON.parse(htOk(['mounts', '--json'], { env })) as Array<{ pid: number; root?: string }>).find((m) => m.root === 's')!.pid;
    try {
      sh('mount', ['-t', 'proc', 'proc', join(mnt('s'), 'proc')]);
      // /etc in the layer, as a booted system's is (its attributes are then the addon's to answer).
      fs.writeFileSync(join(mnt('s'), 'etc', 'machine-id'), 'b08dfa6083e7567a1921a715000001fb\n');
      const r = spawnSync('python3', [join(ROOT, 'test', 'helpers', 'stopped-daemon-walk.py'), mnt('s'), String(pid)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe("[False, 1, '0o40755'] [False, 1, '0o40755']\n");
    } finally {
      spawnSync('umount', [join(mnt('s'), 'proc')]);
      if (spawnSync('umount', [mnt('s')]).status !== 0) spawnSync('fusermount', ['-uz', mnt('s')]);
      // A boot mount's daemon ignores SIGTERM and serves until the kernel ends the session.
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });
});

describe('an upgrade inside the booted system', () => {
  // As OSTree stages a deployment: the running system keeps its commit; the next boot carries the
  // upgrade out (merges into the layer included) and runs the new commit on trial.
  it('is staged; the next boot carries it out and runs the new commit on trial', async () => {
    const version = (v: string) => {
      const d = tree(`vstage-${v}`, (dir) => {
        fs.writeFileSync(join(dir, 'sbin', 'fake-init'), '#!/bin/sh\necho "init runs $(cat /etc/version)"\n', { mode: 0o755 });
        fs.writeFileSync(join(dir, 'etc', 'version'), `${v}\n`);
        // Where the booted system finds SYSROOT (the boot helper binds it there).
        fs.mkdirSync(join(dir, 'sysroot'));
      });
      return H('commit', '-b', `stage-${v}`, d).trim();
    };
    const [one, two, three] = [version('one'), version('two'), version('three')];
    const short = (c: string) => c.slice(0, 12);
    H('root', 'create', 'st', 'stage-one');
    const runDir = join(s.dir, 'run-staged'), moved = join(s.dir, 'booted-root');
    fs.mkdirSync(moved);
    // The booted system as initramfs-tools leaves it, in new namespaces: the boot helper mounted the
    // root (--no-switch) and its mount was moved away from where the daemon mounted it (onto /root,
    // then /). SYSROOT is seen at its own path here, not at /sysroot.
    const inside = `set -e
H() { ${HACKTREE} --sysroot ${sysroot} "$@"; }
mnt=$(${HACKTREE} --sysroot ${sysroot} boot st --init /sbin/fake-init --no-switch 2>/dev/null)
mount --move "$mnt" ${moved}
sed -i "s#^HACKTREE_SYSROOT=.*#HACKTREE_SYSROOT=${sysroot}#" ${runDir}/booted
H root upgrade st stage-two
echo "running: $(cat ${moved}/etc/version)"
H root show st | grep '^staged'
H status | grep '^st '
H root mount st 2>&1 || true
H root rollback st 2>&1 || true
H layer reset st 2>&1 || true
`;
    const r = await run('unshare', ['-m', '-p', '-f', 'sh', '-c', inside], runDir);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`root st: ${short(one)} -> ${short(two)} staged: the running system (${moved}) keeps serving ${short(one)}; the next boot runs ${short(two)}, on trial until its boot is confirmed`);
    expect(lines[1]).toBe('running: one');
    expect(lines[2]).toMatch(new RegExp(`^staged ${two} \\(stage-two\\) at `));
    expect(lines[3]).toMatch(new RegExp(`^st +${short(one)} .*${short(two)} \\(staged\\) .*${moved} \\(booted\\)$`));
    expect(lines[4]).toBe(`hacktree: root 'st' is the booted system's / (${moved}): its layer is in use`);
    expect(lines[5]).toContain("root 'st' is the booted system's / (a running mount keeps serving its commit)");
    expect(lines[6]).toContain("root st is the booted system's /: reset it from another system");
    expect(show('st').commit).toBe(one);

    const next = await boot('st');
    expect(next.status).toBe(0);
    expect(next.stderr).toBe(`root st: staged upgrade ${short(one)} -> ${short(two)} carried out\nroot st: booting ${short(two)} (on trial: boot 1 of 1 until \`root booted\` confirms it)\n`);
    expect(next.stdout).toBe('init runs two\n');
    expect(show('st').commit).toBe(two);
    expect((JSON.parse(H('root', 'show', '--json', 'st')) as { staged?: unknown; trial?: unknown })).toMatchObject({ trial: { commit: two, tries: 1 } });
    expect((JSON.parse(H('root', 'show', '--json', 'st')) as { staged?: unknown }).staged).toBeUndefined();
    expect(JSON.parse(H('root', 'history', '--json', 'st')).at(-1)).toMatchObject({ action: 'upgrade', commit: two, rev: 'stage-two' });

    // That boot's record outlives its mount: an upgrade from outside, once it is gone, is not staged.
    const marker = join(s.dir, 'run', 'booted');
    fs.writeFileSync(marker, fs.readFileSync(marker, 'utf8').replace(/^HACKTREE_SYSROOT=.*$/m, `HACKTREE_SYSROOT=${sysroot}`));
    const later = await run(HACKTREE, ['--sysroot', sysroot, 'root', 'upgrade', 'st', 'stage-three'], join(s.dir, 'run'));
    expect(later.stdout).toBe(`root st: ${short(two)} -> ${short(three)}\n`);
  });
});

describe('boot counting', () => {
  const history = (name: string) => JSON.parse(H('root', 'history', '--json', name)) as Array<{ action: string; commit: string; note?: string }>;
  const trial = (name: string) => (JSON.parse(H('root', 'show', '--json', name)) as { trial?: { commit: string; tries: number } }).trial;
  const version = (v: string, edit: (dir: string) => void = () => {}) => {
    const d = tree(`vcount-${v}`, (dir) => {
      fs.writeFileSync(join(dir, 'sbin', 'fake-init'), '#!/bin/sh\necho "init runs $(cat /etc/version)"\n', { mode: 0o755 });
      fs.writeFileSync(join(dir, 'etc', 'version'), `${v}\n`);
      edit(dir);
    });
    return H('commit', '-b', `count-${v}`, d).trim();
  };
  let good = '', unconfirmed = '', noinit = '', fine = '';
  beforeAll(() => {
    good = version('good');
    unconfirmed = version('unconfirmed');
    noinit = version('noinit', (dir) => fs.rmSync(join(dir, 'sbin', 'fake-init')));
    fine = version('fine');
    H('root', 'create', 'bc', 'count-good');
  });

  it('boots a confirmed commit as it is, with no trial', async () => {
    const r = await boot('bc');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('init runs good\n');
    expect(trial('bc')).toBeUndefined();
  });

  it('gives an upgraded commit one boot; the next unconfirmed boot falls back by itself and says why', async () => {
    H('root', 'upgrade', 'bc', 'count-unconfirmed');
    expect(trial('bc')).toEqual({ commit: unconfirmed, tries: 0 });
    const first = await boot('bc');
    expect(first.stdout).toBe('init runs unconfirmed\n');
    expect(first.stderr).toContain('on trial: boot 1 of 1');
    expect(trial('bc')).toEqual({ commit: unconfirmed, tries: 1 });
    // Nothing ran `root booted`: the boot after it falls back.
    const second = await boot('bc');
    expect(second.status).toBe(0);
    expect(second.stderr).toContain(`root bc: boot of ${unconfirmed.slice(0, 12)} not confirmed after 1 try; falling back to ${good.slice(0, 12)}`);
    expect(second.stdout).toBe('init runs good\n');
    expect(show('bc').commit).toBe(good);
    expect(trial('bc')).toBeUndefined();
    expect(history('bc').at(-1)).toMatchObject({ action: 'automatic rollback', commit: good, note: `boot of ${unconfirmed.slice(0, 12)} not confirmed after 1 try` });
    expect(H('root', 'history', 'bc')).toContain('automatic rollback');
    // The commit that failed is not what `root rollback` returns to.
    expect(Hr('root', 'rollback', 'bc').stderr).toContain('no previous commit');
  });

  it('falls back in the same boot from a commit without the init to run', async () => {
    H('root', 'upgrade', 'bc', 'count-noinit');
    const r = await boot('bc');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`root bc: boot of ${noinit.slice(0, 12)} failed: no executable /sbin/fake-init; falling back to ${good.slice(0, 12)}`);
    expect(r.stdout).toBe('init runs good\n');
    expect(history('bc').at(-1)).toMatchObject({ action: 'automatic rollback', commit: good, note: `boot of ${noinit.slice(0, 12)} failed: no executable /sbin/fake-init` });
  });

  it('keeps a commit whose boot was confirmed', async () => {
    H('root', 'upgrade', 'bc', 'count-fine');
    expect((await boot('bc')).stdout).toBe('init runs fine\n');
    // What hacktree-booted.service runs in the booted system.
    expect(H('root', 'booted', 'bc')).toBe('root bc: boot confirmed\n');
    expect(trial('bc')).toBeUndefined();
    const again = await boot('bc');
    expect(again.stdout).toBe('init runs fine\n');
    expect(again.stderr).toBe(`root bc: booting ${fine.slice(0, 12)}\n`);
    expect(H('root', 'booted', 'bc')).toBe('root bc: nothing on trial\n');
  });

  it('refuses to boot a confirmed commit without init, and rollback ends a trial', async () => {
    const r = await boot('bc', '/sbin/no-such-init');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('has no executable /sbin/no-such-init (and it is not on trial: no automatic fallback)');
    H('root', 'upgrade', 'bc', 'count-unconfirmed');
    H('root', 'rollback', 'bc');
    expect(trial('bc')).toBeUndefined();
    expect(show('bc').commit).toBe(fine);
  });
});
