// Real FUSE mounts of commits: what they serve, what they refuse, how they fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { ht, htOk, requireRoot, requireTool, sh, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { buildAwkwardTree, describeTree, BIG_FILE_SIZE } from './helpers/awkward-tree.js';
import { forceUnmount, isMounted, killDaemonAndWait, listedMount, mountRev, requireFuse, unmountAll } from './helpers/mounts.js';
import { logPath } from '../src/mount.js';

const s = scratch('hacktree-mount-');
const src = join(s.dir, 'src');
const repos: Record<string, string> = {};

beforeAll(() => {
  requireRoot('mounts with allow_other, suid and dev, and builds a tree with foreign owners');
  requireFuse();
  requireTool('rsync', 'rsync');
  fs.chmodSync(s.dir, 0o755);
  buildAwkwardTree(src);
  for (const mode of ['bare-user', 'bare', 'archive']) {
    const repo = join(s.dir, `repo-${mode}`);
    htOk(['--repo', repo, 'init', '--mode', mode]);
    htOk(['--repo', repo, 'commit', '-b', 'awk', src]);
    repos[mode] = repo;
  }
});

afterAll(() => {
  unmountAll();
  s.cleanup();
});

describe('a mounted commit equals its source', () => {
  for (const mode of ['bare-user', 'bare', 'archive']) {
    it(`serves content, modes, owners, symlinks and xattrs (${mode})`, () => {
      const mnt = join(s.dir, `mnt-${mode}`);
      mountRev(repos[mode]!, 'awk', mnt);
      try {
        const r = spawnSync('rsync', ['-n', '-rlpgoDc', '-AX', '--itemize-changes', `${src}/`, `${mnt}/`], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toBe('');
        expect(describeTree(mnt)).toEqual(describeTree(src));
        // Random-offset reads of the multi-MB file match.
        const want = fs.readFileSync(join(src, 'big.bin'));
        const fd = fs.openSync(join(mnt, 'big.bin'), 'r');
        try {
          for (let i = 0; i < 200; i++) {
            const off = randomInt(0, BIG_FILE_SIZE);
            const len = randomInt(1, 70_000);
            const buf = Buffer.alloc(len);
            const n = fs.readSync(fd, buf, 0, len, off);
            expect(n).toBe(Math.min(len, BIG_FILE_SIZE - off));
            expect(buf.subarray(0, n).equals(want.subarray(off, off + n))).toBe(true);
          }
        } finally {
          fs.closeSync(fd);
        }
      } finally {
        forceUnmount(mnt);
      }
    });
  }

  it('gives stable inode numbers, directory link counts and ostree checkout times', () => {
    const mnt = join(s.dir, 'mnt-ino');
    mountRev(repos['bare-user']!, 'awk', mnt);
    const first = fs.statSync(join(mnt, 'private'));
    const file = fs.lstatSync(join(mnt, 'hello.txt'));
    const root = fs.statSync(mnt);
    forceUnmount(mnt);
    mountRev(repos['bare-user']!, 'awk', mnt);
    try {
      expect(fs.statSync(join(mnt, 'private')).ino).toBe(first.ino);
      expect(root.ino).toBe(1);
      const subdirs = fs.readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).length;
      expect(root.nlink).toBe(2 + subdirs);
      expect(file.mtimeMs).toBe(0);
      const commitTime = JSON.parse(htOk(['--repo', repos['bare-user']!, 'show', '--json', 'awk'])).timestamp;
      expect(first.mtimeMs).toBe(commitTime * 1000);
      expect(fs.statfsSync(mnt).bsize).toBeGreaterThan(0);
      // listings have "." and ".." as a disk file system's do
      expect(sh('ls', ['-a', join(mnt, 'private')]).split('\n').slice(0, 2)).toEqual(['.', '..']);
    } finally {
      forceUnmount(mnt);
    }
  });
});

describe('read-only everywhere', () => {
  const mnt = join(s.dir, 'mnt-ro');
  beforeAll(() => mountRev(repos['bare-user']!, 'awk', mnt));
  afterAll(() => forceUnmount(mnt));
  const p = (x: string) => join(mnt, x);
  const calls: Array<[string, () => unknown]> = [
    ['create', () => fs.writeFileSync(p('new-file'), 'x')],
    ['open for write', () => fs.openSync(p('hello.txt'), 'r+')],
    ['unlink', () => fs.unlinkSync(p('hello.txt'))],
    ['rename', () => fs.renameSync(p('hello.txt'), p('renamed'))],
    ['chmod', () => fs.chmodSync(p('hello.txt'), 0o600)],
    ['chown', () => fs.chownSync(p('hello.txt'), 1, 1)],
    ['truncate', () => fs.truncateSync(p('hello.txt'), 1)],
    ['mkdir', () => fs.mkdirSync(p('newdir'))],
    ['rmdir', () => fs.rmdirSync(p('emptydir'))],
    ['symlink', () => fs.symlinkSync('x', p('newlink'))],
    ['link', () => fs.linkSync(p('hello.txt'), p('newhard'))],
    ['setxattr', () => sh('setfattr', ['-n', 'user.x', '-v', '1', p('hello.txt')])],
    ['utimens', () => fs.utimesSync(p('hello.txt'), 1, 1)],
  ];
  for (const [name, call] of calls) {
    it(`${name} fails with EROFS`, () => {
      let err: unknown;
      try { call(); } catch (e) { err = e; }
      expect(err).toBeDefined();
      const msg = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      expect(msg).toMatch(/EROFS|Read-only file system/);
    });
  }
  it('left the source untouched', () => {
    expect(fs.readFileSync(p('hello.txt'), 'utf8')).toBe('hello\n');
  });
});

describe('a busybox root', () => {
  const bb = join(s.dir, 'bb');
  const mnt = join(s.dir, 'mnt-bb');
  beforeAll(() => {
    requireTool('busybox', 'busybox-static');
    sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
    // busybox drops setuid privileges itself, so a tiny static program shows whether the bit takes effect.
    fs.writeFileSync(join(s.dir, 'euid.c'), '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("%d\\n",(int)geteuid());return 0;}\n');
    sh('gcc', ['-static', '-O2', '-o', join(bb, 'bin', 'euid'), join(s.dir, 'euid.c')]);
    fs.chmodSync(join(bb, 'bin', 'euid'), 0o4755);
    htOk(['--repo', repos['bare-user']!, 'commit', '-b', 'bb', bb]);
    mountRev(repos['bare-user']!, 'bb', mnt);
  });
  afterAll(() => forceUnmount(mnt));

  it('runs a shell in a chroot of the mount', () => {
    const out = sh('chroot', [mnt, '/bin/sh', '-c', 'cat /etc/hostname; ls /bin | wc -l; echo $((6*7))']);
    expect(out.split('\n').slice(0, 3)).toEqual(['busybox', String(fs.readdirSync(join(bb, 'bin')).length), '42']);
  });

  it('keeps the setuid bit, and it takes effect (mounted suid)', () => {
    expect(fs.statSync(join(mnt, 'bin', 'su-busybox')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(join(mnt, 'bin', 'euid')).mode & 0o7777).toBe(0o4755);
    // Run as nobody, the setuid-root program runs with euid 0.
    expect(sh('chroot', ['--userspec=65534:65534', mnt, '/bin/sh', '-c', 'id -u; /bin/euid']).split('\n').slice(0, 2)).toEqual(['65534', '0']);
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt)!;
    expect(mounts).not.toMatch(/nosuid/);
  });

  it('lets the kernel enforce permissions for other users', () => {
    const r = spawnSync('chroot', ['--userspec=65534:65534', mnt, '/bin/cat', '/etc/shadow'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
  });
});

describe('many mounts and many readers', () => {
  it('two commits mounted at once; unmounting one leaves the other', () => {
    const a = join(s.dir, 'mnt-a'), b = join(s.dir, 'mnt-b');
    mountRev(repos['bare-user']!, 'awk', a);
    mountRev(repos['archive']!, 'awk', b);
    try {
      const listed = JSON.parse(htOk(['mounts', '--json'])).map((m: { mountpoint: string }) => m.mountpoint);
      expect(listed).toEqual(expect.arrayContaining([a, b]));
      htOk(['umount', a]);
      expect(isMounted(a)).toBe(false);
      expect(fs.readFileSync(join(b, 'hello.txt'), 'utf8')).toBe('hello\n');
    } finally {
      forceUnmount(a);
      forceUnmount(b);
    }
  });

  it('a mountpoint reached through a symlink stays mounted (listed at its real path), and unmounts by either name', async () => {
    const real = join(s.dir, 'real-parent'), link = join(s.dir, 'link-parent');
    fs.mkdirSync(join(real, 'a'), { recursive: true });
    fs.mkdirSync(join(real, 'b'), { recursive: true });
    fs.symlinkSync(real, link);
    try {
      // Through bin/hacktree's own start, and through the node command (-o verify=all,verify=none is left to it).
      expect(htOk(['--repo', repos['bare-user']!, 'mount', 'awk', join(link, 'a')])).toContain(`at ${join(real, 'a')}`);
      htOk(['--repo', repos['bare-user']!, 'mount', '-o', 'verify=all,verify=none', 'awk', join(link, 'b')]);
      // The daemon looks for its mount in the mount table each second: it must find it.
      await new Promise((res) => setTimeout(res, 2500));
      for (const d of ['a', 'b']) {
        expect(isMounted(join(real, d))).toBe(true);
        expect(fs.readFileSync(join(link, d, 'hello.txt'), 'utf8')).toBe('hello\n');
      }
      htOk(['umount', join(link, 'a')]);
      htOk(['umount', join(real, 'b')]);
      for (const d of ['a', 'b']) expect(isMounted(join(real, d))).toBe(false);
    } finally {
      forceUnmount(join(real, 'a'));
      forceUnmount(join(real, 'b'));
    }
  });

  for (const mode of ['archive', 'bare-user']) it(`8 readers walking and reading the whole tree at once get correct data (${mode})`, async () => {
    const mnt = join(s.dir, `mnt-par-${mode}`);
    mountRev(repos[mode]!, 'awk', mnt);
    try {
      const want = sh('sh', ['-c', `cd ${src} && find . -type f -print0 | sort -z | xargs -0 sha256sum`]);
      const runs = await Promise.all(Array.from({ length: 8 }, () => new Promise<string>((res, rej) => {
        const p = spawn('sh', ['-c', `cd ${mnt} && find . -type f -print0 | sort -z | xargs -0 sha256sum`]);
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('error', rej);
        p.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`reader exited ${code}`))));
      })));
      for (const r of runs) expect(r).toBe(want);
    } finally {
      forceUnmount(mnt);
    }
  });
});

/** What JS answered on a mount, from the line its daemon logs as it stops. */
function jsOpsOf(mnt: string): Record<string, number> {
  const line = fs.readFileSync(logPath(mnt), 'utf8').trim().split('\n').filter((l) => l.includes(' stopping: ')).pop() ?? '';
  const ops = /ops: (.*?); content:/.exec(line)?.[1] ?? '';
  return Object.fromEntries(ops.split(' ').filter((kv) => kv.includes('=')).map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])]));
}

describe('what reaches JS', () => {
  it('symlink targets come with their listing, and checked content is read natively', () => {
    const mnt = join(s.dir, 'mnt-native');
    fs.rmSync(logPath(mnt), { force: true });
    mountRev(repos['bare-user']!, 'awk', mnt);
    let links: string;
    try {
      links = sh('find', [mnt, '-type', 'l', '-printf', '%P -> %l\n']);
      // big.bin twice, its pages dropped in between: the kernel asks for it
      // 128 KiB at a time, twice; JS sees its first read, then the binding reads it.
      const want = createHash('sha256').update(fs.readFileSync(join(src, 'big.bin'))).digest('hex');
      for (let i = 0; i < 2; i++) {
        expect(createHash('sha256').update(fs.readFileSync(join(mnt, 'big.bin'))).digest('hex')).toBe(want);
        fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
      }
    } finally {
      forceUnmount(mnt);
    }
    const sorted = (out: string): string[] => out.trim().split('\n').sort();
    expect(sorted(links)).toEqual(sorted(sh('find', [src, '-type', 'l', '-printf', '%P -> %l\n'])));
    expect(sorted(links).length).toBeGreaterThan(2);
    const ops = jsOpsOf(mnt);
    expect(ops.readdir).toBeGreaterThan(0);
    expect(ops.readlink ?? 0).toBe(0);
    expect(ops.read).toBeGreaterThan(0);
    expect(ops.read).toBeLessThanOrEqual(4); // not 2 × 41 requests of 128 KiB
  });
});

describe('failures', () => {
  /** A new repo holding src as branch awk: hello.txt's content checksum and its object file. */
  const helloRepo = (name: string): { repo: string; checksum: string; obj: string } => {
    const repo = join(s.dir, name);
    htOk(['--repo', repo, 'init']);
    htOk(['--repo', repo, 'commit', '-b', 'awk', src]);
    const { checksum } = JSON.parse(htOk(['--repo', repo, 'ls', '--json', 'awk', '/hello.txt']))[0] as { checksum: string };
    return { repo, checksum, obj: join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.file`) };
  };

  it('a flipped byte gives EIO on that file, and the rest is still served', () => {
    const { repo, checksum, obj } = helloRepo('repo-flip');
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'jello\n');
    const mnt = join(s.dir, 'mnt-flip');
    mountRev(repo, 'awk', mnt);
    try {
      expect(() => fs.readFileSync(join(mnt, 'hello.txt'))).toThrow(/EIO/);
      expect(() => fs.readFileSync(join(mnt, 'hello.txt'))).toThrow(/EIO/);
      expect(fs.readFileSync(join(mnt, 'owned-by-1000'), 'utf8')).toBe('mine\n');
      expect(createHash('sha256').update(fs.readFileSync(join(mnt, 'big.bin'))).digest('hex'))
        .toBe(createHash('sha256').update(fs.readFileSync(join(src, 'big.bin'))).digest('hex'));
    } finally {
      forceUnmount(mnt);
    }
    const log = fs.readdirSync('/run/hacktree/mounts').filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(join('/run/hacktree/mounts', f), 'utf8')).join('');
    // Under either name of the file (hello.txt has a hard link: one node, whose path is the first name listed).
    expect(log).toMatch(new RegExp(`/(hello\\.txt|hardlink-to-hello): corrupt file object ${checksum}: checksum mismatch`));
  });

  it('an object found good is not hashed again by the next mount; one changed since is checked again and gives EIO', () => {
    const { repo, checksum, obj } = helloRepo('repo-marks');
    const mnt = join(s.dir, 'mnt-marks');
    /**
     * Mounts, reads hello.txt (its bytes, or the error), unmounts; with what the daemon hashed.
     * `every`: reads every file too, so that each object is checked (and marked) before the
     * unmount. What a mount checks ahead of hello.txt depends on how far its listings got before
     * it stopped: a second mount that got further hashed 4 objects the first never reached.
     */
    const readOnce = (every = false): { got: string; verified: number } => {
      fs.rmSync(logPath(mnt), { force: true });
      mountRev(repo, 'awk', mnt);
      let got: string;
      try {
        try { got = fs.readFileSync(join(mnt, 'hello.txt'), 'utf8'); } catch (e) { got = (e as Error).message; }
        if (every) {
          for (const e of fs.readdirSync(mnt, { recursive: true, withFileTypes: true })) if (e.isFile()) fs.readFileSync(join(e.parentPath, e.name));
        }
      } finally {
        forceUnmount(mnt);
      }
      const line = fs.readFileSync(logPath(mnt), 'utf8').split('\n').filter((l) => l.includes(' stopping: ')).pop() ?? '';
      const content = /content: (\{.*?\})/.exec(line)?.[1];
      if (content === undefined) throw new Error(`no content counts in the daemon's stop line: ${line}`);
      return { got, verified: (JSON.parse(content) as { verified: number }).verified };
    };
    const want = fs.readFileSync(join(src, 'hello.txt'), 'utf8');
    // (The files after it in the directory are checked ahead too.)
    const first = readOnce(true);
    expect(first.got).toBe(want);
    expect(first.verified).toBeGreaterThan(0);
    // Marked good: the next mount takes the marks (the files' stamps are the same) and hashes nothing.
    expect(readOnce()).toEqual({ got: want, verified: 0 });
    // Written since (same length, new ctime): the mark no longer holds, and the bytes are wrong.
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, `j${want.slice(1)}`);
    expect(readOnce().got).toMatch(/EIO/);
    // (Logged under the path the kernel asked by: the file's node is hello.txt's and its hard link's.)
    expect(fs.readFileSync(logPath(mnt), 'utf8')).toMatch(new RegExp(`/(hello\\.txt|hardlink-to-hello): corrupt file object ${checksum}: checksum mismatch`));
  });

  it('a mount whose daemon is killed -9 is mounted again by its supervisor; mounts says so; umount takes it all down', async () => {
    const mnt = join(s.dir, 'mnt-dead');
    mountRev(repos['bare-user']!, 'awk', mnt);
    try {
      const old = listedMount(mnt)!;
      // The first daemon is started beside its supervisor, yet is its child (startSupervised).
      const ppid = (pid: number): number => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      expect(ppid(old.pid)).toBe(old.supervisor!.pid);
      const now = await killDaemonAndWait(mnt);
      expect(now.pid).not.toBe(old.pid);
      // Reaped by the supervisor, which libuv would not have done: no zombie left.
      expect(fs.existsSync(`/proc/${old.pid}`)).toBe(false);
      expect(ppid(now.pid)).toBe(old.supervisor!.pid);
      expect(now.deaths).toEqual([expect.objectContaining({ pid: old.pid, how: 'killed by SIGKILL', newPid: now.pid })]);
      expect(htOk(['mounts'])).toMatch(new RegExp(`pid ${now.pid}; daemon ${old.pid} killed by SIGKILL at \\S+, remounted at `));
      expect(fs.readFileSync(join(mnt, 'hello.txt'), 'utf8')).toBe('hello\n');
      // One mount there, not the dead one under the new one.
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === mnt)).toHaveLength(1);
      htOk(['umount', mnt]);
      expect(isMounted(mnt)).toBe(false);
      for (let i = 0; i < 50 && fs.existsSync(`/proc/${now.supervisor!.pid}`); i++) await new Promise((r) => setTimeout(r, 100));
      expect(fs.existsSync(`/proc/${now.supervisor!.pid}`)).toBe(false);
      expect(fs.existsSync(`/proc/${now.pid}`)).toBe(false);
    } finally {
      forceUnmount(mnt);
    }
  });

  it('a daemon dead without its supervisor leaves ENOTCONN, which hacktree umount cleans up', () => {
    const mnt = join(s.dir, 'mnt-dead2');
    mountRev(repos['bare-user']!, 'awk', mnt);
    try {
      const m = listedMount(mnt)!;
      process.kill(m.supervisor!.pid, 'SIGKILL');
      process.kill(m.pid, 'SIGKILL');
      for (let i = 0; i < 30 && !htOk(['mounts']).includes('daemon dead'); i++) spawnSync('sleep', ['0.1']);
      expect(htOk(['mounts'])).toContain('daemon dead: hacktree umount it');
      expect(() => fs.statSync(join(mnt, 'hello.txt'))).toThrow(/ENOTCONN/);
      htOk(['umount', mnt]);
      expect(isMounted(mnt)).toBe(false);
      mountRev(repos['bare-user']!, 'awk', mnt);
      expect(fs.readFileSync(join(mnt, 'hello.txt'), 'utf8')).toBe('hello\n');
    } finally {
      forceUnmount(mnt);
    }
  });

  it('clear errors: missing, busy or non-empty mountpoint, unknown REV', () => {
    const repo = repos['bare-user']!;
    const one = (args: string[], re: RegExp) => {
      const r = ht(['--repo', repo, ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    };
    one(['mount', 'awk', join(s.dir, 'no-such-dir')], /mountpoint .* does not exist/);
    one(['mount', 'awk', src], /is not empty/);
    one(['mount', 'nope', join(s.dir)], /unknown revision 'nope'/);
    const mnt = join(s.dir, 'mnt-busy');
    mountRev(repo, 'awk', mnt);
    try {
      one(['mount', 'awk', mnt], /is busy/);
      expect(ht(['umount', join(s.dir, 'not-mounted')]).stderr).toMatch(/is not mounted/);
    } finally {
      forceUnmount(mnt);
    }
  });

  it('bin/hacktree starts a plain mount itself, and says what the node command says, also for what only the daemon checks', () => {
    const repo = repos['bare-user']!;
    const mnt = join(s.dir, 'mnt-started');
    fs.mkdirSync(mnt, { recursive: true });
    /** The node command itself, without bin/hacktree's shell in front of it. */
    const nodeCommand = (args: string[]) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli-main.bundle.cjs'), '--repo', repo, ...args], { encoding: 'utf8' });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const daemonArgs = (): string[] => fs.readFileSync(`/proc/${listedMount(mnt)!.pid}/cmdline`, 'utf8').split('\0');
    const viaNode = nodeCommand(['mount', 'awk', mnt]);
    expect(viaNode.code).toBe(0);
    expect(daemonArgs()).not.toContain('--unresolved');
    forceUnmount(mnt);
    const viaShell = ht(['--repo', repo, 'mount', 'awk', mnt]);
    try {
      expect(viaShell).toEqual(viaNode);
      // The daemon was given REV to resolve (scripts/mount-start.sh): no node command ran.
      expect(daemonArgs()).toContain('--unresolved');
      const m = listedMount(mnt)!;
      expect(m.rev).toBe('awk');
      expect(m.commit).toBe(fs.readFileSync(join(repo, 'refs', 'heads', 'awk'), 'utf8').trim());
    } finally {
      forceUnmount(mnt);
    }
    // What the shell lets through and the daemon refuses: a ref holding no checksum, a commit not
    // in the repository, a bad verify= after a good one, an option libfuse refuses.
    fs.writeFileSync(join(repo, 'refs', 'heads', 'broken'), 'garbage\n');
    try {
      for (const args of [['broken', mnt], ['0'.repeat(64), mnt], ['-o', 'verify=all,verify=maybe', 'awk', mnt], ['-o', 'no_such_fuse_option', 'awk', mnt]]) {
        const r = ht(['--repo', repo, 'mount', ...args]);
        expect(r).toEqual(nodeCommand(['mount', ...args]));
        expect(r.code).toBe(args.includes('verify=all,verify=maybe') ? 2 : 1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(isMounted(mnt)).toBe(false);
      }
    } finally {
      fs.rmSync(join(repo, 'refs', 'heads', 'broken'));
    }
  });

  it('-o verify=none serves without checking; a bad option is a clear error', () => {
    const mnt = join(s.dir, 'mnt-noverify');
    mountRev(repos['bare-user']!, 'awk', mnt, ['verify=none']);
    try {
      expect(fs.readFileSync(join(mnt, 'hello.txt'), 'utf8')).toBe('hello\n');
    } finally {
      forceUnmount(mnt);
    }
    const r = ht(['--repo', repos['bare-user']!, 'mount', '-o', 'verify=maybe', 'awk', mnt]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/verify takes 'all' or 'none'/);
  });

  it('a daemon that cannot mount says why in one line; its supervisor leaves with it', () => {
    const mnt = join(s.dir, 'mnt-badopt');
    fs.mkdirSync(mnt, { recursive: true });
    // libfuse refuses the option: the daemon fails after its supervisor started beside it.
    const r = ht(['--repo', repos['bare-user']!, 'mount', '-o', 'no_such_fuse_option', 'awk', mnt]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hacktree: cannot mount FUSE filesystem at .*mnt-badopt.*\(log: /);
    expect(isMounted(mnt)).toBe(false);
    // The supervisor sees its daemon end before it served, and leaves without mounting again.
    const supervisors = (): string[] => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`supervisor-main`) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(mnt); } catch { return false; }
    });
    for (let i = 0; i < 50 && supervisors().length > 0; i++) spawnSync('sleep', ['0.1']);
    expect(supervisors()).toEqual([]);
    expect(fs.readFileSync(logPath(mnt), 'utf8')).toMatch(/hacktree supervisor .*mnt-badopt: daemon \d+ exited with code 1 before the mount was ready/);
    expect(htOk(['mounts'])).not.toContain(mnt);
  });
});

describe('system conventions', () => {
  it('mount -t fuse.hacktree REPO:REV MNT works through the mount helper', () => {
    const helper = '/sbin/mount.fuse.hacktree';
    const installed = fs.existsSync(helper);
    if (!installed) fs.symlinkSync(join(ROOT, 'scripts', 'mount.fuse.hacktree'), helper);
    const mnt = join(s.dir, 'mnt-helper');
    fs.mkdirSync(mnt);
    try {
      sh('mount', ['-t', 'fuse.hacktree', '-o', 'verify=all', `${repos['bare-user']}:awk`, mnt]);
      expect(fs.readFileSync(join(mnt, 'hello.txt'), 'utf8')).toBe('hello\n');
      expect(JSON.parse(htOk(['mounts', '--json'])).some((m: { mountpoint: string }) => m.mountpoint === mnt)).toBe(true);
      sh('umount', [mnt]);
      expect(isMounted(mnt)).toBe(false);
    } finally {
      forceUnmount(mnt);
      if (!installed) fs.unlinkSync(helper);
    }
  });
});
