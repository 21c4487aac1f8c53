// Roots with a writable layer, for real: a Debian root's account tools, a
// busybox root's edits, persistence, and layer commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ht, htAsync, htOk, requireRoot, sh, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, killDaemonAndWait, requireFuse, unmountAll, type ListedMount } from './helpers/mounts.js';
import { debianRoot } from './helpers/debian-root.js';

const s = scratch('hacktree-roots-');
const sysroot = join(s.dir, 'sysroot');
const H = (...args: string[]) => htOk(['--sysroot', sysroot, ...args]);
const Hr = (...args: string[]) => ht(['--sysroot', sysroot, ...args]);
const mntOf = (name: string) => join(sysroot, 'roots', name, 'mnt');
const extraMounts: string[] = [];
/** Kills of the daemon in the kill loop (HACKTREE_KILL_LOOPS for more). */
const KILLS = Number(process.env.HACKTREE_KILL_LOOPS ?? 5);

beforeAll(() => {
  requireRoot('mounts roots with allow_other and chroots into them');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  H('init');
});

afterAll(() => {
  for (const m of extraMounts.reverse()) spawnSync('umount', ['-l', m]);
  unmountAll();
  for (const n of ['deb', 'bb']) if (isMounted(mntOf(n))) forceUnmount(mntOf(n));
  s.cleanup();
});

const chroot = (mnt: string, script: string) => spawnSync('chroot', [mnt, '/bin/sh', '-c', script], { encoding: 'utf8' });

const ACCOUNT_FILE = /^\/etc\/(passwd|shadow|group|gshadow|subuid|subgid)(-|\+|\.[^/]+)?$|^\/etc\/\.pwd\.lock$/;

describe('a Debian root: account tools just work and are captured', () => {
  let base = '';
  beforeAll(async () => {
    const deb = await debianRoot();
    const c = await htAsync(['--sysroot', sysroot, 'commit', '-b', 'debian/bookworm', '-s', 'minbase + adduser', deb]);
    if (c.code !== 0) throw new Error(`commit of the Debian root exited ${c.code}: ${c.stderr}`);
    base = c.stdout.trim();
    H('root', 'create', 'deb', 'debian/bookworm');
    H('root', 'mount', 'deb');
    // What `hacktree enter` will provide: a /run of its own (adduser locks /run/adduser).
    sh('mount', ['-t', 'tmpfs', 'tmpfs', join(mntOf('deb'), 'run')]);
    extraMounts.push(join(mntOf('deb'), 'run'));
  }, 900_000);

  it('runs adduser, addgroup, chpasswd, useradd, usermod, groupadd, userdel, deluser', () => {
    const steps = [
      "adduser --disabled-password --gecos '' alice",
      'addgroup team',
      'adduser alice team',
      "echo 'alice:secret' | chpasswd",
      'useradd -m bob',
      'usermod -aG team bob',
      'groupadd devs',
      'userdel -r bob',
      "adduser --disabled-password --gecos '' carol",
      'deluser carol',
    ];
    for (const step of steps) {
      const r = chroot(mntOf('deb'), step);
      expect({ step, status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ step, status: 0, stderr: '' });
    }
    const passwd = fs.readFileSync(join(mntOf('deb'), 'etc', 'passwd'), 'utf8');
    expect(passwd).toMatch(/^alice:x:/m);
    expect(passwd).not.toMatch(/^bob:/m);
    expect(passwd).not.toMatch(/^carol:/m);
    expect(fs.readFileSync(join(mntOf('deb'), 'etc', 'group'), 'utf8')).toMatch(/^team:x:\d+:alice$/m);
    expect(fs.readFileSync(join(mntOf('deb'), 'etc', 'shadow'), 'utf8')).toMatch(/^alice:\$/m);
  });

  it('layer diff lists exactly the account files and the new home directories', () => {
    const changes = JSON.parse(H('layer', 'diff', '--json', 'deb')) as Array<{ change: string; path: string }>;
    const paths = changes.map((c) => c.path);
    const unexpected = paths.filter((p) => !ACCOUNT_FILE.test(p) && !/^\/home\/(alice|carol)(\/|$)/.test(p));
    expect(unexpected).toEqual([]);
    for (const p of ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow']) expect(changes).toContainEqual({ change: 'M', path: p });
    expect(changes).toContainEqual({ change: 'A', path: '/home/alice' });
    expect(paths.some((p) => p.startsWith('/home/bob'))).toBe(false);
  });

  it('refuses writes outside the writable set with EROFS', () => {
    for (const script of ['echo x > /usr/bin/x', 'echo x > /etc/other.conf', 'echo x >> /etc/debian_version', 'mkdir /opt/x']) {
      const r = chroot(mntOf('deb'), script);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Read-only file system/);
    }
  });

  it('leaves the base commit and the repository untouched', () => {
    expect(H('rev-parse', 'debian/bookworm').trim()).toBe(base);
    expect(sh('ostree', [`--repo=${join(sysroot, 'repo')}`, 'fsck'])).toMatch(/no errors found/);
    expect(H('cat', 'debian/bookworm', '/etc/passwd')).not.toMatch(/alice/);
  });
});

describe('a busybox root', () => {
  const bb = join(s.dir, 'bb');
  beforeAll(() => {
    sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
    H('commit', '-b', 'bb/v1', bb);
    H('root', 'create', 'bb', 'bb/v1', '--writable', '/opt/data/**');
    H('root', 'mount', 'bb');
  });

  it('takes an account appended to /etc/passwd and passwd -d, and captures them', () => {
    const r = chroot(mntOf('bb'), "echo 'dave:x:1000:1000:Dave:/home/dave:/bin/sh' >> /etc/passwd && echo 'dave:!:19000:0:99999:7:::' >> /etc/shadow && passwd -d dave && mkdir -p /home/dave && chown 1000:1000 /home/dave");
    expect(r.stderr).not.toMatch(/Read-only/);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(join(mntOf('bb'), 'etc', 'shadow'), 'utf8')).toMatch(/^dave::/m);
    const d = H('layer', 'diff', 'bb');
    expect(d).toMatch(/^CHANGE +PATH$/m);
    expect(d).toMatch(/^M +\/etc\/passwd$/m);
    expect(d).toMatch(/^M +\/etc\/shadow$/m);
    expect(d).toMatch(/^A +\/home\/dave$/m);
    expect(H('root', 'show', '--json', 'bb')).toContain('/opt/data/**');
  });

  it('keeps every change across unmount and mount', () => {
    fs.writeFileSync(join(mntOf('bb'), 'var', 'tmp', 'note'), 'kept\n');
    H('root', 'umount', 'bb');
    expect(isMounted(mntOf('bb'))).toBe(false);
    H('root', 'mount', 'bb');
    expect(fs.readFileSync(join(mntOf('bb'), 'var', 'tmp', 'note'), 'utf8')).toBe('kept\n');
    expect(fs.readFileSync(join(mntOf('bb'), 'etc', 'passwd'), 'utf8')).toMatch(/^dave:/m);
  });

  it('keeps data written and fsynced when the daemon is killed -9: its supervisor mounts again', async () => {
    const p = join(mntOf('bb'), 'var', 'tmp', 'durable');
    const fd = fs.openSync(p, 'w');
    fs.writeSync(fd, 'survives kill -9\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    await killDaemonAndWait(mntOf('bb'), ['--sysroot', sysroot]);
    expect(fs.readFileSync(p, 'utf8')).toBe('survives kill -9\n');
    H('root', 'umount', 'bb');
    H('root', 'mount', 'bb');
    expect(fs.readFileSync(p, 'utf8')).toBe('survives kill -9\n');
  });

  it('a process working in the mount when the daemon is killed -9: no hang; its cwd is dead (ENOTCONN), the path leads to the new mount', async () => {
    const dir = join(mntOf('bb'), 'var', 'tmp', 'cwd');
    fs.mkdirSync(dir);
    fs.writeFileSync(join(dir, 'file'), 'before the kill\n');
    const holder = spawn('/usr/bin/python3', [join(ROOT, 'test', 'helpers', 'cwd-holder.py'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    holder.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => holder.on('close', (c) => r(c)));
    try {
      for (let i = 0; i < 300 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('ready');
      const old = JSON.parse(H('mounts', '--json')).find((m: ListedMount) => m.root === 'bb') as ListedMount;
      const now = await killDaemonAndWait(mntOf('bb'), ['--sysroot', sysroot]);
      expect(H('mounts')).toMatch(new RegExp(`pid ${now.pid}; daemon ${old.pid} killed by SIGKILL at \\S+, remounted at `));
      holder.stdin.end('go\n');
      expect(await exited).toBe(0);
    } finally {
      if (holder.exitCode === null) holder.kill();
    }
    // The kernel cannot move a process's cwd from the dead connection to the new one: what it
    // reaches through its cwd fails at once (no hang) until it goes there again by path.
    expect(JSON.parse(out.slice(out.indexOf('{')))).toEqual({
      'relative read': 'ENOTCONN',
      'relative listdir': 'ENOTCONN',
      'getcwd': 'ENOTCONN',
      'read by path': 'ok before the kill',
      'after chdir by path: relative read': 'ok before the kill',
      'after chdir by path: relative write': 'ok written',
    });
    // A fresh supervisor: the next test counts the deaths it causes.
    H('root', 'umount', 'bb');
    H('root', 'mount', 'bb');
  });

  it(`kill -9 at random instants while a writer fsyncs (${KILLS} kills): the mount comes back each time, every fsynced write is there`, async () => {
    const dir = join(mntOf('bb'), 'var', 'tmp', 'fsynced');
    fs.mkdirSync(dir);
    const stop = join(s.dir, 'writer-stop');
    const writer = spawn('/usr/bin/python3', [join(ROOT, 'test', 'helpers', 'fsync-writer.py'), dir, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    writer.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => writer.on('close', (c) => r(c)));
    const done = (): number[] => [...out.matchAll(/^done (\d+)$/gm)].map((x) => Number(x[1]));
    const delays: number[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        const before = done().length;
        // Let the writer get going on the new mount, then kill at some instant of its work.
        for (let i = 0; i < 300 && done().length === before; i++) await new Promise((r) => setTimeout(r, 50));
        expect(done().length, `the writer made no progress after mount ${k}`).toBeGreaterThan(before);
        const delay = Math.floor(Math.random() * 700);
        delays.push(delay);
        await new Promise((r) => setTimeout(r, delay));
        await killDaemonAndWait(mntOf('bb'), ['--sysroot', sysroot]);
      }
      const last = done().length;
      for (let i = 0; i < 300 && done().length < last + 3; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      fs.writeFileSync(stop, '');
      await exited;
    }
    console.log(`kill loop: ${KILLS} kills after ${delays.join(', ')} ms; ${done().length} records fsynced; ${(out.match(/^err /gm) ?? []).length} failed tries`);
    const mounts = JSON.parse(H('mounts', '--json')) as ListedMount[];
    expect(mounts.find((m) => m.root === 'bb')!.deaths!.filter((d) => d.how === 'killed by SIGKILL' && d.remounted)).toHaveLength(KILLS);
    H('root', 'umount', 'bb');
    H('root', 'mount', 'bb');
    const n = done();
    expect(n).toEqual([...Array(n.length).keys()]);
    const data = (i: number): string => `record ${i}\n`.repeat(1 + (i % 50));
    for (let f = 0; f < 40; f++) {
      const lastOf = n.filter((i) => i % 40 === f).at(-1);
      if (lastOf !== undefined) expect(fs.readFileSync(join(dir, `w${f}`), 'utf8'), `w${f}`).toBe(data(lastOf));
    }
    const logged = new Set(fs.readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean).map(Number));
    expect(n.filter((i) => !logged.has(i))).toEqual([]);
    expect(fs.readFileSync(join(dir, 'state'), 'utf8')).toBe(data(n.filter((i) => i % 5 === 0).at(-1)!));
    expect(fs.readdirSync(dir).filter((x) => x.startsWith('.'))).toEqual([]);
  }, 600_000);

  it('layer commit gives a commit ostree accepts and that, mounted, shows the changes', () => {
    const c = H('layer', 'commit', 'bb', '-b', 'bb/v2', '-s', 'add dave').trim();
    expect(c).toMatch(/^[0-9a-f]{64}$/);
    expect(sh('ostree', [`--repo=${join(sysroot, 'repo')}`, 'fsck'])).toMatch(/no errors found/);
    expect(JSON.parse(H('show', '--json', 'bb/v2')).parent).toBe(H('rev-parse', 'bb/v1').trim());
    const mnt = join(s.dir, 'mnt-v2');
    fs.mkdirSync(mnt);
    H('mount', 'bb/v2', mnt);
    try {
      expect(fs.readFileSync(join(mnt, 'etc', 'passwd'), 'utf8')).toMatch(/^dave:/m);
      expect(fs.readFileSync(join(mnt, 'var', 'tmp', 'durable'), 'utf8')).toBe('survives kill -9\n');
      expect(fs.statSync(join(mnt, 'home', 'dave')).uid).toBe(1000);
    } finally {
      forceUnmount(mnt);
    }
    // The root keeps running its commit with its layer.
    expect(JSON.parse(H('root', 'show', '--json', 'bb')).commit).toBe(H('rev-parse', 'bb/v1').trim());
  });

  it('layer reset drops changes (the root unmounted), per path or all', () => {
    H('root', 'umount', 'bb');
    H('layer', 'reset', 'bb', '/etc/shadow');
    expect(H('layer', 'diff', 'bb')).not.toMatch(/\/etc\/shadow$/m);
    expect(H('layer', 'diff', 'bb')).toMatch(/\/etc\/passwd$/m);
    H('layer', 'reset', 'bb');
    expect(H('layer', 'diff', 'bb').trim()).toBe('');
    H('root', 'mount', 'bb');
    expect(fs.existsSync(join(mntOf('bb'), 'var', 'tmp', 'note'))).toBe(false);
  });

  it('lists, shows and removes roots', () => {
    const list = JSON.parse(H('root', 'list', '--json')) as Array<{ name: string; mountedAt: string | null }>;
    expect(list.find((r) => r.name === 'bb')?.mountedAt).toBe(mntOf('bb'));
    expect(Hr('root', 'remove', 'bb').stderr).toMatch(/is mounted/);
    H('root', 'umount', 'bb');
    H('root', 'remove', 'bb');
    expect(Hr('root', 'show', 'bb').stderr).toMatch(/no root named 'bb'/);
    expect(Hr('root', 'create', 'bad/name', 'bb/v1').code).toBe(2);
  });
});
