// Real FUSE mounts through src/fuse/binding.ts and the addon in
// native/. The filesystem runs in a child process
// (test/helpers/fuse-binding-fs.mjs, which imports dist/: build first); this
// process only looks at the mount, with node:fs and the usual tools.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readlinkSync, statSync, type BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const helper = join(here, 'helpers', 'fuse-binding-fs.mjs');
const compiled = join(here, '..', 'dist', 'fuse', 'binding.js');
const source = join(here, '..', 'src', 'fuse', 'binding.ts');
const GiB = 1024 ** 3;
const OTHER_UID = 4321; // a user that is not the one serving the mount

// Fail loudly, never skip, when the machine cannot run these tests.
function requirePrerequisites(): void {
  if (!existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing: FUSE tests cannot run');
  const fm = spawnSync('fusermount', ['-V'], { encoding: 'utf8' });
  if (fm.error) throw new Error(`fusermount is missing (apt-get install fuse3 or fuse): ${fm.error.message}`);
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run \`npm run build\` first`);
  if (statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
    throw new Error(`${compiled} is older than ${source}: run \`npm run build\` first`);
  }
}

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const py = (code: string, ...args: string[]): string => run('python3', ['-c', code, ...args]);

function mountLine(mnt: string): string[] | undefined {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[1] === mnt) return f;
  }
  return undefined;
}

type LogEntry = Record<string, unknown>;

class TestFs {
  readonly log: LogEntry[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly mnt: string, readonly child: ChildProcess) {}

  // Starts the helper; resolves on READY, rejects on MOUNT_FAILED or early exit.
  static async start(mnt: string, options: object): Promise<TestFs> {
    const child = spawn(process.execPath, [helper, mnt, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const t = new TestFs(mnt, child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code, sig) => reject(new Error(`helper exited (${code ?? sig}) before READY: ${stderr}`)));
      lines.on('line', (line) => {
        if (line === 'READY') resolve();
        else if (line.startsWith('MOUNT_FAILED')) reject(new Error(line));
        else {
          t.log.push(JSON.parse(line) as LogEntry);
          for (const w of t.waiters.splice(0)) w();
        }
      });
    });
    return t;
  }

  private synced = 0;
  private markers = 0;

  /**
   * The op calls logged since the previous sync(). A lookup of a marker name,
   * which the helper logs, orders this after every op already answered.
   */
  async sync(): Promise<LogEntry[]> {
    const n = ++this.markers;
    await fs.stat(join(this.mnt, `.marker-${n}`)).catch(() => undefined);
    for (;;) {
      const i = this.log.findIndex((e) => e.op === 'marker' && e.n === n);
      if (i >= 0) {
        const entries = this.log.slice(this.synced, i);
        this.synced = i + 1;
        return entries;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error('helper is gone');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Runs `action` and returns the op calls named `op` (or any of `op`) that it caused. */
  async opsDuring(op: string | string[], action: () => unknown): Promise<LogEntry[]> {
    const named = typeof op === 'string' ? [op] : op;
    await this.sync();
    await action();
    return (await this.sync()).filter((e) => named.includes(e.op));
  }

  private countMarks = 0;

  /** The binding's requestCounts(), read in the helper during a lookup of a new name. */
  async counts(): Promise<Record<string, number>> {
    const n = ++this.countMarks;
    await fs.stat(join(this.mnt, `.ctl-counts-${n}`)).catch(() => undefined);
    for (;;) {
      const e = this.log.find((x) => x.op === 'counts' && x.n === n);
      if (e) return e.counts as Record<string, number>;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error('helper is gone');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /**
   * The requests the kernel sent while `action` ran, by opcode (as the binding counts
   * them: whoever answered), less the lookup that reads the counts afterwards.
   */
  async requestsDuring(action: () => unknown): Promise<Record<string, number>> {
    const before = await this.counts();
    await action();
    const after = await this.counts();
    const diff: Record<string, number> = {};
    for (const [op, n] of Object.entries(after)) {
      const d = n - (before[op] ?? 0) - (op === 'lookup' ? 1 : 0);
      if (d !== 0) diff[op] = d;
    }
    return diff;
  }

  /** Unmounts from outside (plain, then lazy) and kills the helper; never throws. */
  async stop(): Promise<void> {
    try {
      if (mountLine(this.mnt)) {
        spawnSync('fusermount', ['-u', this.mnt]);
        if (mountLine(this.mnt)) spawnSync('fusermount', ['-uz', this.mnt]);
      }
    } finally {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        const exited = once(this.child, 'exit');
        this.child.kill('SIGKILL');
        await exited;
      }
    }
  }
}

const statC = (fmt: string, path: string): string => run('stat', ['-c', fmt, path]).trim();

let base: string;

beforeAll(async () => {
  requirePrerequisites();
  base = await fs.mkdtemp(join(tmpdir(), 'hacktree-fuse-'));
  await fs.chmod(base, 0o755); // OTHER_UID must reach the mountpoint
});

afterAll(async () => {
  if (base) await fs.rm(base, { recursive: true, force: true });
});

describe('fuse binding: writable mount with use_ino and extra options', () => {
  let t: TestFs | undefined;
  let mnt: string;

  beforeAll(async () => {
    mnt = join(base, 'rw');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, {
      fsname: 'hacktree-test', subtype: 'htsub', allowOther: true, defaultPermissions: true,
      useIno: true, suid: true, dev: true, kernelCache: true,
      entryTimeout: 0, attrTimeout: 0, negativeTimeout: 0,
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('passes fsname, subtype, allow_other, default_permissions, suid, dev to the kernel', () => {
    const f = mountLine(mnt);
    expect(f).toBeDefined();
    const [source, , fstype, opts] = f!;
    expect(source).toBe('hacktree-test');
    expect(fstype).toBe('fuse.htsub');
    const list = opts!.split(',');
    expect(list).toContain('allow_other');
    expect(list).toContain('default_permissions');
    expect(list).toContain('rw');
    expect(list).not.toContain('nosuid'); // suid
    expect(list).not.toContain('nodev'); // dev
  });

  it('reports 64-bit inode numbers from getattr (use_ino)', async () => {
    expect(statC('%i', join(mnt, 'hello'))).toBe(String(2 ** 52 + 3));
    expect(statC('%i', join(mnt, 'big'))).toBe(String(2 ** 33 + 7));
    expect(statC('%i', mnt)).toBe(String(2 ** 40));
    expect((await fs.stat(join(mnt, 'hello'), { bigint: true })).ino).toBe(2n ** 52n + 3n);
  });

  it('reports inode numbers and types from readdir attributes (use_ino)', () => {
    const out = py(
      'import os,sys,json; print(json.dumps({e.name: [e.inode(), e.is_dir(follow_symlinks=False)] for e in os.scandir(sys.argv[1])}))',
      mnt,
    );
    const entries = JSON.parse(out) as Record<string, [number, boolean]>;
    expect(entries.hello).toEqual([2 ** 52 + 3, false]);
    expect(entries.big).toEqual([2 ** 33 + 7, false]);
    expect(entries.dir![1]).toBe(true);
    expect(entries.dir![0]).toBeGreaterThan(2 ** 32);
  });

  it('reads at offsets beyond 4 GiB with 64-bit file handles', async () => {
    const fh = await fs.open(join(mnt, 'big'), 'r');
    try {
      expect((await fh.stat()).size).toBe(6 * GiB);
      const pos = 5 * GiB + 3;
      const buf = Buffer.alloc(16);
      const { bytesRead } = await fh.read(buf, 0, 16, pos);
      expect(bytesRead).toBe(16);
      const expected = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) {
        const off = pos + i;
        const block = off - (off % 8);
        expected[i] = Math.floor(block / 2 ** (8 * (7 - (off % 8)))) % 256;
      }
      expect(buf).toEqual(expected);
      // reading across EOF stops at 6 GiB
      const tail = await fh.read(Buffer.alloc(64), 0, 64, 6 * GiB - 10);
      expect(tail.bytesRead).toBe(10);
    } finally {
      await fh.close();
    }
  });

  it('writes, truncates and ftruncates beyond 4 GiB', async () => {
    const p = join(mnt, 'sparse');
    const fh = await fs.open(p, 'w+');
    try {
      const pos = 5 * GiB + 1;
      expect((await fh.write(Buffer.from('far away'), 0, 8, pos)).bytesWritten).toBe(8);
      expect((await fh.stat()).size).toBe(pos + 8);
      const back = Buffer.alloc(8);
      await fh.read(back, 0, 8, pos);
      expect(back.toString()).toBe('far away');
      const calls = await t!.opsDuring('ftruncate', () => fh.truncate(7 * GiB)); // ftruncate(2)
      expect(calls).toEqual([{ op: 'ftruncate', path: '/sparse', size: 7 * GiB }]);
    } finally {
      await fh.close();
    }
    expect((await fs.stat(p)).size).toBe(7 * GiB);
    const calls = await t!.opsDuring('truncate', () => py('import os,sys; os.truncate(sys.argv[1], int(sys.argv[2]))', p, String(4 * GiB + 5))); // truncate(2)
    expect(calls).toEqual([{ op: 'truncate', path: '/sparse', size: 4 * GiB + 5 }]);
    expect((await fs.stat(p)).size).toBe(4 * GiB + 5);
  });

  it('gives utimens distinct atime and mtime, UTIME_OMIT and UTIME_NOW', async () => {
    const p = join(mnt, 'times');
    await fs.writeFile(p, 'x');
    run('touch', ['-d', '@1000000', p]);
    expect(statC('%X %Y', p)).toBe('1000000 1000000');

    const utimens = (args: string[]): Promise<LogEntry[]> => t!.opsDuring('utimens', () => run('touch', [...args, p]));
    expect(await utimens(['-m', '-d', '@2000000'])).toEqual([{ op: 'utimens', path: '/times', atime: 'omit', mtime: 2000000000 }]);
    expect(statC('%X %Y', p)).toBe('1000000 2000000');

    expect(await utimens(['-a', '-d', '@3000000'])).toEqual([{ op: 'utimens', path: '/times', atime: 3000000000, mtime: 'omit' }]);
    expect(statC('%X %Y', p)).toBe('3000000 2000000');

    expect(await utimens(['-m'])).toEqual([{ op: 'utimens', path: '/times', atime: 'omit', mtime: 'now' }]);
    const [atime, mtime] = statC('%X %Y', p).split(' ').map(Number);
    expect(atime).toBe(3000000);
    expect(mtime).toBeGreaterThan(2000000);

    // sub-second times are kept to the millisecond
    await fs.utimes(p, 1234.5, 5678.25);
    const st = await fs.stat(p);
    expect([st.atimeMs, st.mtimeMs]).toEqual([1234500, 5678250]);
  });

  it('hands the caller uid/gid/pid to ops (new files belong to the caller)', async () => {
    const p = join(mnt, 'owned');
    let child: ChildProcess | undefined;
    const created = await t!.opsDuring('create', async () => {
      child = spawn('sh', ['-c', 'umask 022 && exec touch "$1"', 'sh', p], { uid: OTHER_UID, gid: OTHER_UID, stdio: 'ignore' });
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    });
    expect(created).toEqual([{ op: 'create', path: '/owned', mode: 0o100644, uid: OTHER_UID, gid: OTHER_UID, pid: child!.pid }]);
    expect(statC('%u %g %F', p)).toBe(`${OTHER_UID} ${OTHER_UID} regular empty file`);
  });

  it('passes create mode, chown with -1, chmod, mknod mode and rdev', async () => {
    const p = join(mnt, 'modes');
    py('import os,sys; os.umask(0o022); os.close(os.open(sys.argv[1], os.O_CREAT|os.O_WRONLY, 0o640))', p);
    expect(statC('%a %F', p)).toBe('640 regular empty file');

    const chown = (spec: string): Promise<LogEntry[]> => t!.opsDuring('chown', () => run('chown', [spec, p]));
    expect(await chown(':555')).toEqual([{ op: 'chown', path: '/modes', uid: -1, gid: 555 }]);
    expect(statC('%u %g', p)).toBe('0 555');
    expect(await chown('777')).toEqual([{ op: 'chown', path: '/modes', uid: 777, gid: -1 }]);
    expect(statC('%u %g', p)).toBe('777 555');

    await fs.chmod(p, 0o4711);
    expect(statC('%a', p)).toBe('4711');

    const dev = join(mnt, 'chardev');
    const mknod = await t!.opsDuring('mknod', () => py('import os,sys,stat; os.mknod(sys.argv[1], stat.S_IFCHR | 0o600, os.makedev(1, 7))', dev));
    expect(mknod).toEqual([{ op: 'mknod', path: '/chardev', mode: 0o20600, rdev: 0x107 }]);
    expect(statC('%F %t %T %a', dev)).toBe('character special file 1 7 600');
  });

  it('answers xattr size probes and retries after ERANGE', () => {
    const p = join(mnt, 'xattrs');
    const probe = py(
      'import ctypes,sys; c=ctypes.CDLL(None, use_errno=True); p=sys.argv[1].encode(); '
      + 'print(c.getxattr(p, b"user.big", None, 0), c.listxattr(p, None, 0))',
      p,
    ).trim().split(' ').map(Number);
    const names = ['user.small', 'user.big', ...Array.from({ length: 20 }, (_, i) => `user.attribute-number-${i}`)];
    expect(probe).toEqual([300, names.reduce((n, s) => n + s.length + 1, 0)]);
    // Python first tries 128 bytes for a value and 256 for a list, then retries on ERANGE.
    const out = py('import os,sys,json; p=sys.argv[1]; print(json.dumps([len(os.getxattr(p, "user.big")), sorted(os.listxattr(p))]))', p);
    expect(JSON.parse(out)).toEqual([300, [...names].sort()]);
    // a missing attribute is ENODATA
    expect(py('import os,sys\ntry:\n os.getxattr(sys.argv[1], "user.none")\nexcept OSError as e: print(e.errno)', p).trim()).toBe('61');
  });

  it('sets and removes xattrs', () => {
    const p = join(mnt, 'hello');
    const out = py(
      'import os,sys; p=sys.argv[1]; os.setxattr(p, "user.k", b"value"); v=os.getxattr(p, "user.k"); '
      + 'os.removexattr(p, "user.k"); print(v.decode(), "user.k" in os.listxattr(p))',
      p,
    );
    expect(out.trim()).toBe('value False');
  });

  it('reports 64-bit statfs counts', () => {
    expect(run('stat', ['-f', '-c', '%S %b %f %a %c %d', mnt]).trim())
      .toBe(`4096 ${2 ** 33 + 5} ${2 ** 33 + 3} ${2 ** 33 + 1} ${2 ** 32 + 9} ${2 ** 32 + 8}`);
  });

  it('does directories, symlinks, hard links, renames and removals', async () => {
    const d = join(mnt, 'd1');
    await fs.mkdir(d, { mode: 0o750 });
    expect(statC('%a %F', d)).toBe('750 directory');
    await fs.writeFile(join(d, 'f'), 'content');
    await fs.symlink('f', join(d, 'ln'));
    expect(await fs.readlink(join(d, 'ln'))).toBe('f');
    expect(await fs.readFile(join(d, 'ln'), 'utf8')).toBe('content');
    await fs.link(join(d, 'f'), join(d, 'hard'));
    const [a, b] = await Promise.all([fs.stat(join(d, 'f')), fs.stat(join(d, 'hard'))]);
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    await fs.rename(d, join(mnt, 'd2'));
    expect((await fs.readdir(join(mnt, 'd2'))).sort()).toEqual(['f', 'hard', 'ln']);
    await expect(fs.rmdir(join(mnt, 'd2'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    for (const n of ['f', 'hard', 'ln']) await fs.unlink(join(mnt, 'd2', n));
    await fs.rmdir(join(mnt, 'd2'));
    await expect(fs.stat(join(mnt, 'd2'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses renameat2 flags (RENAME_NOREPLACE, RENAME_EXCHANGE) with EINVAL, changing nothing', async () => {
    await fs.writeFile(join(mnt, 'ra'), 'a');
    await fs.writeFile(join(mnt, 'rb'), 'b');
    // RENAME_NOREPLACE to a free name (a taken one is EEXIST in the kernel), then RENAME_EXCHANGE
    const renameat2 = (from: string, to: string, flags: number): string => py(
      'import ctypes,sys,os; c=ctypes.CDLL(None, use_errno=True); '
      + 'r=c.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), int(sys.argv[3])); '
      + 'print(os.strerror(ctypes.get_errno()) if r else "renamed")',
      from, to, String(flags),
    ).trim();
    expect(renameat2(join(mnt, 'ra'), join(mnt, 'rc'), 1)).toBe('Invalid argument');
    expect(renameat2(join(mnt, 'ra'), join(mnt, 'rb'), 2)).toBe('Invalid argument');
    expect(await fs.readFile(join(mnt, 'ra'), 'utf8')).toBe('a');
    expect(await fs.readFile(join(mnt, 'rb'), 'utf8')).toBe('b');
    await expect(fs.stat(join(mnt, 'rc'))).rejects.toMatchObject({ code: 'ENOENT' });
    // a plain rename still works
    await fs.rename(join(mnt, 'ra'), join(mnt, 'rc'));
    expect(await fs.readFile(join(mnt, 'rc'), 'utf8')).toBe('a');
  });
});

describe('fuse binding: read-only mount without use_ino', () => {
  let t: TestFs | undefined;
  let mnt: string;

  beforeAll(async () => {
    mnt = join(base, 'ro');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, { fsname: 'hacktree-ro', readOnly: true });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('mounts ro with the kernel defaults nosuid,nodev and refuses writes', async () => {
    const f = mountLine(mnt)!;
    expect(f[0]).toBe('hacktree-ro');
    expect(f[2]).toBe('fuse');
    expect(f[3]!.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
    await expect(fs.writeFile(join(mnt, 'new'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    expect(await fs.readFile(join(mnt, 'hello'), 'utf8')).toBe('hello world\n');
  });

  it('uses libfuse inode numbers when use_ino is not given', () => {
    expect(Number(statC('%i', join(mnt, 'hello')))).toBeLessThan(2 ** 32);
  });
});

// Kernel caching off (all timeouts 0): every stat reaches libfuse, so whether it
// reaches JS is decided by the binding's attribute cache alone.
const NO_KERNEL_CACHE = { readOnly: true, useIno: true, entryTimeout: 0, attrTimeout: 0, negativeTimeout: 0 };
const T0 = 1_600_000_000_000; // the helper's times
const ROOT_NAMES = ['big', 'dir', 'hello', 'link', 'xattrs'];

/** The paths whose `op` reached JS while `action` ran, each once. */
async function jsPaths(t: TestFs, op: 'getattr' | 'readlink' | 'readdir' | 'getxattr', action: () => unknown): Promise<string[]> {
  return [...new Set((await t.opsDuring(op, action)).map((e) => e.path as string))].sort();
}

/** What a FUSE getattr decides (st_dev is the mount's either way). */
function attrs(st: BigIntStats): Record<string, bigint> {
  const { ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atimeNs, mtimeNs, ctimeNs } = st;
  return { ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atimeNs, mtimeNs, ctimeNs };
}

const lstatAttrs = async (p: string): Promise<Record<string, bigint>> => attrs(await fs.lstat(p, { bigint: true }));
const ms = (n: number): bigint => BigInt(n) * 1_000_000n;

describe('fuse binding: native attribute cache (attrCache)', () => {
  let t: TestFs | undefined;
  let mnt: string;

  beforeAll(async () => {
    mnt = join(base, 'cache');
    await fs.mkdir(mnt);
    contentFile = join(base, 'hello-content');
    await fs.writeFile(contentFile, 'HELLO WORLD\n');
    t = await TestFs.start(mnt, { ...NO_KERNEL_CACHE, attrCache: 1000, contentFile });
  });
  afterAll(async () => {
    await t?.stop();
  });
  let contentFile: string;

  it('answers getattr of listed children without JS, with exactly the attributes JS gave', async () => {
    const fromJs = new Map<string, Record<string, bigint>>();
    for (const n of ROOT_NAMES) {
      // nothing published yet: JS answers
      expect(await jsPaths(t!, 'getattr', async () => fromJs.set(n, await lstatAttrs(join(mnt, n))))).toEqual([`/${n}`]);
    }
    expect((await fs.readdir(mnt)).sort()).toEqual(ROOT_NAMES);
    for (const n of ROOT_NAMES) {
      let cached: Record<string, bigint> | undefined;
      expect(await jsPaths(t!, 'getattr', async () => { cached = await lstatAttrs(join(mnt, n)); })).toEqual([]);
      expect(cached).toEqual(fromJs.get(n));
    }
    const hello = await lstatAttrs(join(mnt, 'hello'));
    expect(hello).toMatchObject({ ino: 2n ** 52n + 3n, mode: 0o100644n, nlink: 1n, uid: 0n, gid: 0n, size: 12n, mtimeNs: ms(T0) });
    expect((await lstatAttrs(join(mnt, 'big'))).size).toBe(6n * BigInt(GiB));
    expect(await lstatAttrs(join(mnt, 'link'))).toMatchObject({
      ino: 2n ** 44n + 11n, mode: 0o120777n, uid: 1234n, gid: 5678n, size: 5n,
      atimeNs: ms(T0 + 1001), mtimeNs: ms(T0 + 2002), ctimeNs: ms(T0 + 3003),
    });
  });

  it('counts every request the kernel sends, also those answered without JS', async () => {
    await fs.lstat(join(mnt, 'hello'));
    let reached: string[] = [];
    const requests = await t!.requestsDuring(async () => {
      reached = await jsPaths(t!, 'getattr', () => fs.lstat(join(mnt, 'hello')));
    });
    expect(reached).toEqual([]);
    // the lstat's lookup (the kernel keeps nothing: entry_timeout=0), answered in C
    expect(requests.lookup).toBeGreaterThanOrEqual(1);
  });

  it('still asks JS about paths never published', async () => {
    const inner = join(mnt, 'dir', 'inner');
    expect(await jsPaths(t!, 'getattr', () => fs.lstat(inner))).toEqual(['/dir/inner']);
    await expect(fs.lstat(join(mnt, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await jsPaths(t!, 'getattr', () => fs.lstat(join(mnt, 'nope')).catch(() => undefined))).toEqual(['/nope']);
    expect(await fs.readdir(join(mnt, 'dir'))).toEqual(['inner']);
    expect(await jsPaths(t!, 'getattr', () => fs.lstat(inner))).toEqual([]);
  });

  it('answers readlink from cacheLink without JS', async () => {
    const link = join(mnt, 'link');
    let target = '';
    expect(await jsPaths(t!, 'readlink', async () => { target = await fs.readlink(link); })).toEqual(['/link']);
    expect(target).toBe('hello');
    expect(await jsPaths(t!, 'readlink', async () => { target = await fs.readlink(link); })).toEqual([]);
    expect(target).toBe('hello');
    // following it: the link and its target come from the cache
    expect(await jsPaths(t!, 'getattr', async () => { expect((await fs.stat(link)).size).toBe(12); })).toEqual([]);
  });

  it('reads a file from the real file cacheContent published, without JS, until forgotten', async () => {
    const hello = join(mnt, 'hello');
    let got = '';
    // (the helper's JS read answers 'hello world'; the published file holds it in capitals)
    expect(await jsPaths(t!, 'read', async () => { got = await fs.readFile(hello, 'utf8'); })).toEqual(['/hello']);
    expect(got).toBe('hello world\n');
    await fs.lstat(join(mnt, '.ctl-content')).catch(() => undefined);
    expect(await jsPaths(t!, 'read', async () => { got = await fs.readFile(hello, 'utf8'); })).toEqual([]);
    expect(got).toBe('HELLO WORLD\n');
    // partial reads at offsets, and past the end
    const fh = await fs.open(hello, 'r');
    try {
      const buf = Buffer.alloc(8);
      expect(await jsPaths(t!, 'read', async () => {
        expect((await fh.read(buf, 0, 5, 6)).bytesRead).toBe(5);
        expect(buf.subarray(0, 5).toString()).toBe('WORLD');
        expect((await fh.read(buf, 0, 8, 100)).bytesRead).toBe(0);
      })).toEqual([]);
    } finally {
      await fh.close();
    }
    await fs.lstat(join(mnt, '.ctl-clear')).catch(() => undefined);
    expect(await jsPaths(t!, 'read', async () => { got = await fs.readFile(hello, 'utf8'); })).toEqual(['/hello']);
    expect(got).toBe('hello world\n');
  });

  it('forgets everything on clearCache and publishes with cacheAttrs', async () => {
    await fs.lstat(join(mnt, '.ctl-clear')).catch(() => undefined);
    expect(await jsPaths(t!, 'getattr', () => fs.lstat(join(mnt, 'hello')))).toEqual(['/hello']);
    expect(await jsPaths(t!, 'readlink', () => fs.readlink(join(mnt, 'link')))).toEqual(['/link']);
    await fs.lstat(join(mnt, '.ctl-publish')).catch(() => undefined);
    let st: Record<string, bigint> | undefined;
    // /dir itself was forgotten; /dir/inner was just published
    expect(await jsPaths(t!, 'getattr', async () => { st = await lstatAttrs(join(mnt, 'dir', 'inner')); })).toEqual(['/dir']);
    expect(st).toMatchObject({ mode: 0o100600n, size: 0n, mtimeNs: ms(T0) });
    expect(st!.ino).toBeGreaterThan(2n ** 40n);
  });
});

// What a listing shows: ls -la (names, types, modes, owners, sizes, times) and
// os.scandir's d_ino/d_type, which come from readdir's own attributes, plus
// each entry's lstat.
const LIST_PY = `
import os, sys
for e in sorted(os.scandir(sys.argv[1]), key=lambda e: e.name):
    st = e.stat(follow_symlinks=False)
    print(e.name, e.inode(), e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False), e.is_symlink(),
          st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size, st.st_blocks, st.st_mtime_ns, st.st_ctime_ns)
`;
const listing = (dir: string): string => run('ls', ['-la', '--time-style=full-iso', dir]) + py(LIST_PY, dir);

describe('fuse binding: attrCache directory listings', () => {
  let t: TestFs | undefined;
  let mnt: string;

  beforeAll(async () => {
    mnt = join(base, 'dircache');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, { ...NO_KERNEL_CACHE, attrCache: 1000 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a second readdir without JS, with identical names and attributes', async () => {
    let first = '';
    let second = '';
    expect(await jsPaths(t!, 'readdir', () => { first = listing(mnt); })).toEqual(['/']);
    expect(await jsPaths(t!, 'readdir', () => { second = listing(mnt); })).toEqual([]);
    expect(second).toBe(first);
    for (const n of ROOT_NAMES) expect(first).toContain(` ${n}`);
    // d_ino is JS's (use_ino), from the cached listing too
    expect(py('import os,sys; print(sorted((e.name, e.inode()) for e in os.scandir(sys.argv[1])))', mnt))
      .toContain(`('hello', ${2 ** 52 + 3})`);
    // nothing of the listing reaches JS again: the children's attributes came
    // with the listing, the root's own with JS's answer to its first getattr
    expect(await jsPaths(t!, 'getattr', () => listing(mnt))).toEqual([]);
    expect((await fs.readdir(mnt)).sort()).toEqual(ROOT_NAMES);
  });

  it('still sends a directory never listed to JS, then caches it too', async () => {
    expect(await jsPaths(t!, 'readdir', () => fs.readdir(join(mnt, 'dir')))).toEqual(['/dir']);
    let again: string[] = [];
    expect(await jsPaths(t!, 'readdir', async () => { again = await fs.readdir(join(mnt, 'dir')); })).toEqual([]);
    expect(again).toEqual(['inner']);
    expect(await jsPaths(t!, 'readdir', () => fs.readdir(mnt))).toEqual([]);
  });

  it('forgets listings on clearCache', async () => {
    const before = listing(mnt);
    await fs.lstat(join(mnt, '.ctl-clear')).catch(() => undefined);
    let after = '';
    expect(await jsPaths(t!, 'readdir', () => { after = listing(mnt); })).toEqual(['/']);
    expect(after).toBe(before);
    expect(await jsPaths(t!, 'readdir', () => fs.readdir(join(mnt, 'dir')))).toEqual(['/dir']);
    // and JS's new answers are cached again
    expect(await jsPaths(t!, 'readdir', () => { after = listing(mnt); })).toEqual([]);
    expect(after).toBe(before);
  });
});

describe('fuse binding: attrCache when full', () => {
  let t: TestFs | undefined;
  let mnt: string;

  beforeAll(async () => {
    mnt = join(base, 'smallcache');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, { ...NO_KERNEL_CACHE, attrCache: 3 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('empties itself and keeps answering correctly', async () => {
    const fromJs = new Map<string, Record<string, bigint>>();
    for (const n of ROOT_NAMES) fromJs.set(n, await lstatAttrs(join(mnt, n)));
    await fs.lstat(join(mnt, '.ctl-clear')).catch(() => undefined);
    // listed in the helper's order hello, big, dir, xattrs, link: the 4th entry
    // finds 3 and empties the table, so only the last two are still cached
    await fs.readdir(mnt);
    const after = new Map<string, Record<string, bigint>>();
    const lstatAll = (names: string[]) => jsPaths(t!, 'getattr', async () => {
      for (const n of names) after.set(n, await lstatAttrs(join(mnt, n)));
    });
    expect(await lstatAll(['link', 'xattrs'])).toEqual([]);
    // (each answer JS gives is kept too, emptying the table again as it fills)
    expect(await lstatAll(['big', 'dir', 'hello'])).toEqual(['/big', '/dir', '/hello']);
    expect(after).toEqual(fromJs);
  });
});

describe('fuse binding: attrCache on a writable mount (changes)', () => {
  let t: TestFs | undefined;
  let mnt: string;
  const at = (...p: string[]): string => join(mnt, ...p);

  beforeAll(async () => {
    mnt = join(base, 'mutable');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, { ...NO_KERNEL_CACHE, readOnly: false, attrCache: 1000, changes: true });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const coherent = (paths: string[]): Promise<void> => expectCacheIsJs(mnt, paths);

  it('keeps answers until something changes them', async () => {
    await fs.writeFile(at('f'), 'x');
    await fs.lstat(at('f'));
    expect(await jsPaths(t!, 'getattr', () => fs.lstat(at('f')))).toEqual([]);
  });

  it('shows each change at once: size, mode, owner, times', async () => {
    await fs.appendFile(at('f'), 'more bytes');
    await coherent(['f']);
    await fs.chmod(at('f'), 0o600);
    await coherent(['f']);
    await fs.chown(at('f'), 1234, 5678);
    await coherent(['f']);
    run('touch', ['-m', '-d', '@1000000', at('f')]);
    await coherent(['f']);
    await fs.truncate(at('f'), 3);
    await coherent(['f']);
    expect((await fs.lstat(at('f'))).size).toBe(3);
  });

  it('keeps link counts true across hard links, never caching a file with several names', async () => {
    await fs.writeFile(at('a'), 'a');
    await fs.lstat(at('a'));
    await fs.link(at('a'), at('b'));
    expect([(await fs.lstat(at('a'))).nlink, (await fs.lstat(at('b'))).nlink]).toEqual([2, 2]);
    await fs.unlink(at('a'));
    expect((await fs.lstat(at('b'))).nlink).toBe(1);
    await coherent(['a', 'b']);
  });

  it('forgets names and listings on create, unlink, mkdir, rmdir, symlink and rename', async () => {
    await fs.mkdir(at('d'));
    await fs.writeFile(at('d', 'inner'), 'i');
    await fs.readdir(at('d'));
    await fs.lstat(at('d', 'inner'));
    await fs.rename(at('d'), at('e'));
    await coherent(['d', 'd/inner', 'e', 'e/inner']);
    expect(await fs.readdir(at('e'))).toEqual(['inner']);
    await fs.symlink('inner', at('e', 's'));
    expect((await fs.readdir(at('e'))).sort()).toEqual(['inner', 's']);
    await fs.unlink(at('e', 'inner'));
    await fs.unlink(at('e', 's'));
    expect(await fs.readdir(at('e'))).toEqual([]);
    await fs.rmdir(at('e'));
    await coherent(['e', 'e/inner']);
    expect((await fs.readdir(mnt)).includes('e')).toBe(false);
  });

  it('keeps a published symlink target only for a symlink its cache knows as unchanging', async () => {
    const readlinks = async (p: string): Promise<[string[], string]> => {
      let target = '';
      const calls = await jsPaths(t!, 'readlink', async () => { target = await fs.readlink(at(p)); });
      return [calls, target];
    };
    await fs.symlink('somewhere', at('plain-link'));
    expect(await readlinks('plain-link')).toEqual([['/plain-link'], 'somewhere']);
    expect(await readlinks('plain-link')).toEqual([['/plain-link'], 'somewhere']); // refused: it may change
    await fs.symlink('stable-target', at('fixed-link'));
    await fs.lstat(at('fixed-link'));
    expect(await readlinks('fixed-link')).toEqual([['/fixed-link'], 'stable-target']);
    expect(await readlinks('fixed-link')).toEqual([[], 'stable-target']);
    await fs.unlink(at('fixed-link'));
    await fs.symlink('elsewhere', at('fixed-link'));
    expect(await readlinks('fixed-link')).toEqual([['/fixed-link'], 'elsewhere']);
    expect(await readlinks('fixed-link')).toEqual([['/fixed-link'], 'elsewhere']);
  });

  it('asks JS for security.capability before the first write only, never for a file it created, and again after setxattr', async () => {
    const caps = async (action: () => Promise<unknown>) => (await t!.opsDuring('getxattr', action)).filter((e) => e.name === 'security.capability').length;
    const old = await fs.open(at('xattrs'), 'r+');
    try {
      expect(await caps(() => old.write('1', 0))).toBe(1);
      expect(await caps(async () => { await old.write('2', 1); await old.write('3', 2); })).toBe(0);
    } finally {
      await old.close();
    }
    const fresh = await fs.open(at('w'), 'w+');
    try {
      expect(await caps(() => fresh.write('1', 0))).toBe(0);
      run('setfattr', ['-n', 'user.x', '-v', '1', at('w')]);
      expect(await caps(() => fresh.write('4', 3))).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});

describe('fuse binding: directory attributes kept by the kernel on a writable mount (kernelDirAttrs)', () => {
  let t: TestFs | undefined;
  let mnt: string;
  const at = (...p: string[]): string => join(mnt, ...p);

  beforeAll(async () => {
    mnt = join(base, 'dirattrs');
    await fs.mkdir(mnt);
    // as a root's mount: dentries for a second, attributes uncached, the kernel checking permissions
    t = await TestFs.start(mnt, { ...NO_KERNEL_CACHE, entryTimeout: 1, defaultPermissions: true, readOnly: false, attrCache: 1000, changes: true, kernelDirAttrs: true });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('spares the GETATTR of each directory on a path, not the file\'s', async () => {
    await fs.mkdir(at('a', 'b', 'c'), { recursive: true });
    await fs.writeFile(at('a', 'b', 'c', 'f'), 'x');
    await fs.lstat(at('a', 'b', 'c', 'f'));
    const got = await t!.requestsDuring(async () => { for (let i = 0; i < 5; i++) await fs.lstat(at('a', 'b', 'c', 'f')); });
    // without: 4 a time (a, a/b, a/b/c for the permission checks, then f)
    expect(got.getattr ?? 0).toBeGreaterThanOrEqual(5);
    expect(got.getattr ?? 0).toBeLessThanOrEqual(6);
  });

  it('shows each change of a directory made through the mount at once', async () => {
    const c = at('a', 'b', 'c');
    const nlink = (await fs.lstat(c)).nlink;
    await fs.mkdir(join(c, 'g'));
    expect((await fs.lstat(c)).nlink).toBe(nlink + 1);
    await fs.rmdir(join(c, 'g'));
    expect((await fs.lstat(c)).nlink).toBe(nlink);
    await fs.chmod(c, 0o700);
    expect((await fs.lstat(c)).mode & 0o7777).toBe(0o700);
    await fs.chown(c, 4321, 8765);
    expect(await fs.lstat(c)).toMatchObject({ uid: 4321, gid: 8765 });
    await fs.rename(c, at('a', 'b', 'd'));
    await expect(fs.lstat(c)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.lstat(at('a', 'b', 'd'))).mode & 0o7777).toBe(0o700);
    await expectCacheIsJs(mnt, ['a', 'a/b', 'a/b/d', 'a/b/d/f']);
  });
});

describe('fuse binding: direct handles (directHandles)', () => {
  let t: TestFs | undefined;
  let mnt: string;
  let backing: string;
  const at = (...p: string[]): string => join(mnt, ...p);
  const ops = async (action: () => Promise<unknown>): Promise<string[]> =>
    (await t!.opsDuring(['open', 'read', 'write', 'release'], action)).map((e) => `${e.op} ${String(e.path)}`);

  beforeAll(async () => {
    mnt = join(base, 'direct');
    await fs.mkdir(mnt);
    // /real is this file: its directory mirrors the mount (layerDir)
    await fs.mkdir(join(base, 'layer'));
    backing = join(base, 'layer', 'real');
    await fs.writeFile(backing, '');
    const contentFile = join(base, 'hello-content-direct');
    await fs.writeFile(contentFile, 'HELLO WORLD\n');
    t = await TestFs.start(mnt, { ...NO_KERNEL_CACHE, readOnly: false, attrCache: 1000, changes: true, directHandles: true, backing, contentFile });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('opens and releases a file of stable content natively; JS reads it by path', async () => {
    await fs.lstat(at('hello'));
    let text = '';
    expect(await ops(async () => { text = await fs.readFile(at('hello'), 'utf8'); })).toEqual(['read /hello']);
    expect(text).toBe('hello world\n');
  });

  it('keeps published content only for a file its cached attributes call stable, and drops it on a change', async () => {
    const read = async (): Promise<[string[], string]> => {
      // the binding opens /hello with keep_cache: drop its pages, so the read reaches the daemon
      await fs.writeFile('/proc/sys/vm/drop_caches', '1');
      let text = '';
      const calls = await ops(async () => { text = await fs.readFile(at('hello'), 'utf8'); });
      return [calls.filter((c) => c.startsWith('read')), text];
    };
    const publish = (): Promise<unknown> => fs.lstat(at('.ctl-content')).catch(() => undefined);
    await fs.lstat(at('.ctl-clear')).catch(() => undefined);
    await publish(); // nothing cached says /hello is stable: refused
    expect(await read()).toEqual([['read /hello'], 'hello world\n']);
    await fs.lstat(at('hello'));
    await publish();
    expect(await read()).toEqual([[], 'HELLO WORLD\n']);
    await fs.chmod(at('hello'), 0o644); // a change: the content goes with the attributes
    expect(await read()).toEqual([['read /hello'], 'hello world\n']);
  });

  it('reads, writes and closes a direct handle natively, the cached attributes following the writes', async () => {
    const fds = (): string[] => readdirLinks(t!.child.pid!).filter((l) => l === backing);
    let fh: fs.FileHandle | undefined;
    expect(await ops(async () => { fh = await fs.open(at('real'), 'r+'); })).toEqual(['open /real']);
    expect(fds()).toHaveLength(1);
    await fs.lstat(at('real'));
    const buf = Buffer.alloc(7);
    expect(await ops(async () => {
      await fh!.write('abc', 0);
      await fh!.write('defg', 3);
      expect((await fs.lstat(at('real'))).size).toBe(7);
      await fh!.read(buf, 0, 7, 0);
      await fh!.close();
    })).toEqual([]);
    expect(buf.toString()).toBe('abcdefg');
    expect(await fs.readFile(backing, 'utf8')).toBe('abcdefg');
    expect(fds()).toHaveLength(0);
    // what the cache says after the writes is what JS says
    await expectCacheIsJs(mnt, ['real']);
  });

  it('changes the mode, owner and times of a layer file natively, the cached attributes following', async () => {
    await fs.lstat(at('real'));
    const setattrs = async (action: () => Promise<unknown>): Promise<string[]> =>
      (await t!.opsDuring(['chmod', 'chown', 'utimens'], action)).map((e) => e.op);
    expect(await setattrs(async () => {
      await fs.chmod(at('real'), 0o640);
      await fs.chown(at('real'), 4321, 8765);
      await fs.utimes(at('real'), 1_000_000, 2_000_000);
    })).toEqual([]);
    const real = await fs.lstat(backing);
    expect([real.mode & 0o7777, real.uid, real.gid, real.mtimeMs]).toEqual([0o640, 4321, 8765, 2_000_000_000]);
    const cached = attrs(await fs.lstat(at('real'), { bigint: true }));
    expect([cached.mode & 0o7777n, cached.uid, cached.mtimeNs]).toEqual([0o640n, 4321n, 2_000_000_000_000_000n]);
    await expectCacheIsJs(mnt, ['real']);
    // any other file is JS's to change, as always
    expect(await setattrs(() => fs.chmod(at('hello'), 0o600))).toEqual(['chmod']);
  });

  it('answers "no such name" in a directory only the layer has without JS, by the real directory', async () => {
    await fs.mkdir(join(base, 'layer', 'lonly'));
    await fs.writeFile(join(base, 'layer', 'lonly', 'there'), '');
    await fs.lstat(at('lonly'));
    const missing = (name: string) => fs.lstat(at('lonly', name)).then(() => 'found', (e: NodeJS.ErrnoException) => e.code);
    expect(await jsPaths(t!, 'getattr', async () => { expect(await missing('absent')).toBe('ENOENT'); })).toEqual([]);
    // a name the real directory has, and libfuse's hidden names, are JS's to answer
    expect(await jsPaths(t!, 'getattr', () => missing('there'))).toEqual(['/lonly/there']);
    expect(await jsPaths(t!, 'getattr', () => missing('.fuse_hidden0001'))).toEqual(['/lonly/.fuse_hidden0001']);
  });
});

/** What the native cache answers for `paths` under `mnt` equals what JS answers once the cache is emptied. */
async function expectCacheIsJs(mnt: string, paths: string[]): Promise<void> {
  const answer = async () => Promise.all(paths.map((p) => fs.lstat(join(mnt, p), { bigint: true }).then(attrs, (e: NodeJS.ErrnoException) => e.code)));
  const cached = await answer();
  await fs.lstat(join(mnt, '.ctl-clear')).catch(() => undefined);
  expect(cached).toEqual(await answer());
}

/** Where a process's open file descriptors point. */
function readdirLinks(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  return run('ls', [dir]).split('\n').filter(Boolean).map((fd) => { try { return readlinkSync(join(dir, fd)); } catch { return ''; } });
}

describe('fuse binding: attrCache off', () => {
  let t: TestFs | undefined;
  let mnt: string;

  beforeAll(async () => {
    mnt = join(base, 'nocache');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, NO_KERNEL_CACHE);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sends every getattr and readlink to JS, listed or not', async () => {
    expect((await fs.readdir(mnt)).sort()).toEqual(ROOT_NAMES);
    for (const n of ROOT_NAMES) {
      expect(await jsPaths(t!, 'getattr', () => fs.lstat(join(mnt, n)))).toEqual([`/${n}`]);
      expect(await jsPaths(t!, 'getattr', () => fs.lstat(join(mnt, n)))).toEqual([`/${n}`]);
    }
    for (let i = 0; i < 2; i++) {
      expect(await jsPaths(t!, 'readlink', async () => expect(await fs.readlink(join(mnt, 'link'))).toBe('hello'))).toEqual(['/link']);
    }
  });

  it('sends every readdir to JS', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await jsPaths(t!, 'readdir', () => fs.readdir(mnt))).toEqual(['/']);
      expect(await jsPaths(t!, 'readdir', () => fs.readdir(join(mnt, 'dir')))).toEqual(['/dir']);
    }
  });
});

// A frozen mount, as serve.ts mounts a commit: read-only, the kernel keeping what it learns.
describe('fuse binding: frozen read-only mount', () => {
  let t: TestFs | undefined;
  let mnt: string;
  const MANY = 300; // more entries than one READDIRPLUS reply holds
  const DAY = 86400;

  beforeAll(async () => {
    mnt = join(base, 'frozen');
    await fs.mkdir(mnt);
    t = await TestFs.start(mnt, {
      readOnly: true, frozen: true, useIno: true, kernelCache: true, attrCache: 1000,
      entryTimeout: DAY, attrTimeout: DAY, negativeTimeout: DAY, many: MANY,
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const pick = (r: Record<string, number>, ...ops: string[]): Record<string, number> =>
    Object.fromEntries(ops.filter((op) => r[op] !== undefined).map((op) => [op, r[op]!]));

  it('opens files in the kernel: a second cat sends no open, release or read; JS reads by path', async () => {
    const cat = (): string => run('cat', [join(mnt, 'hello')]);
    let first = '';
    let second = '';
    let jsOps: LogEntry[] = [];
    const r1 = await t!.requestsDuring(async () => {
      jsOps = await t!.opsDuring(['open', 'read', 'release'], () => { first = cat(); });
    });
    expect(first).toBe('hello world\n');
    // JS never hears of opens: its read gets the path (and handle 0)
    expect(jsOps.map((e) => `${e.op} ${String(e.path)}`)).toEqual(['read /hello']);
    expect(r1.read).toBeGreaterThanOrEqual(1);
    expect(r1.release).toBeUndefined();
    const r2 = await t!.requestsDuring(() => { second = cat(); });
    expect(second).toBe(first);
    // no_open: no OPEN or RELEASE any more, and the pages were kept (FOPEN_KEEP_CACHE)
    expect(pick(r2, 'open', 'release', 'read')).toEqual({});
  });

  it('lists each directory once: a second ls sends no opendir, readdir or releasedir, and shows the same', async () => {
    const ls = (): string => run('ls', ['-la', '--time-style=full-iso', join(mnt, 'dir')]);
    let first = '';
    let second = '';
    let js: string[] = [];
    const r1 = await t!.requestsDuring(async () => { js = await jsPaths(t!, 'readdir', () => { first = ls(); }); });
    expect(js).toEqual(['/dir']);
    expect(first).toMatch(/ inner\n/);
    expect(r1.readdirplus).toBeGreaterThanOrEqual(1);
    expect(pick(r1, 'releasedir', 'readdir')).toEqual({});
    const r2 = await t!.requestsDuring(() => { second = ls(); });
    expect(second).toBe(first);
    expect(pick(r2, 'opendir', 'readdir', 'readdirplus', 'releasedir')).toEqual({});
  });

  it('asks for a symlink target once', async () => {
    const link = join(mnt, 'link');
    let target = '';
    const r1 = await t!.requestsDuring(async () => { target = await fs.readlink(link); });
    expect(target).toBe('hello');
    expect(r1.readlink).toBe(1);
    const r2 = await t!.requestsDuring(async () => { target = await fs.readlink(link); });
    expect(target).toBe('hello');
    expect(pick(r2, 'readlink')).toEqual({});
    // following it too
    expect(await fs.readFile(link, 'utf8')).toBe('hello world\n');
  });

  it('gives the kernel attributes with the listing (READDIRPLUS): no lookup per entry, JS inode numbers (use_ino)', async () => {
    const dir = join(mnt, 'many');
    const expected = Array.from({ length: MANY }, (_, i) => `f${String(i).padStart(4, '0')}`);
    let names: string[] = [];
    const r1 = await t!.requestsDuring(async () => { names = await fs.readdir(dir); });
    // complete, each name once, in JS's order, over several replies
    expect(names).toEqual(expected);
    expect(r1.readdirplus).toBeGreaterThan(1);
    // every entry's attributes came with the listing: lstat, and scandir's d_ino, need nothing more
    let out = '';
    const r2 = await t!.requestsDuring(() => {
      out = py(
        'import os,sys,json; d=sys.argv[1]; '
        + 'print(json.dumps([[e.name, e.inode()] + [getattr(os.lstat(os.path.join(d, e.name)), k) for k in '
        + '("st_ino","st_mode","st_uid","st_gid","st_size","st_nlink","st_mtime_ns")] for e in os.scandir(d)]))',
        dir,
      );
    });
    expect(pick(r2, 'lookup', 'getattr')).toEqual({});
    const rows = JSON.parse(out) as [string, number, number, number, number, number, number, number, number][];
    expect(rows.map((r) => r[0])).toEqual(expected);
    rows.forEach(([name, dIno, ino, mode, uid, gid, size, nlink, mtimeNs], i) => {
      expect([name, dIno, ino, mode, uid, gid, size, nlink]).toEqual([expected[i], 2 ** 48 + i * 7, 2 ** 48 + i * 7, 0o100640, 1000 + i, 2000 + i, i, 1]);
      expect(mtimeNs).toBe(T0 * 1e6);
    });
  });

  it('serves directory requests that come with the kernel handle 0 (fsync, ioctl) and lists the root completely', async () => {
    // fsync(2) of a directory (FSYNCDIR), lsattr's ioctl on a directory
    expect(py('import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY|os.O_DIRECTORY); os.fsync(fd); print("synced")', join(mnt, 'dir')).trim()).toBe('synced');
    spawnSync('lsattr', ['-d', join(mnt, 'dir')]);
    expect((await fs.readdir(mnt)).sort()).toEqual([...ROOT_NAMES, 'many'].sort());
    expect(await fs.readFile(join(mnt, 'hello'), 'utf8')).toBe('hello world\n');
  });
});

describe('fuse binding: mount failures', () => {
  it('rejects an unknown option and leaves no mount behind', async () => {
    const mnt = join(base, 'bad');
    await fs.mkdir(mnt);
    let t: TestFs | undefined;
    try {
      await expect((async () => { t = await TestFs.start(mnt, { options: ['no_such_option'] }); })())
        .rejects.toThrow(/MOUNT_FAILED/);
      expect(mountLine(mnt)).toBeUndefined();
    } finally {
      await t?.stop();
      if (mountLine(mnt)) spawnSync('fusermount', ['-uz', mnt]);
    }
  });

  it('rejects a bad attrCache size', async () => {
    const mnt = join(base, 'badcache');
    await fs.mkdir(mnt);
    let t: TestFs | undefined;
    try {
      await expect((async () => { t = await TestFs.start(mnt, { attrCache: -1 }); })())
        .rejects.toThrow(/MOUNT_FAILED bad attrCache: -1/);
      expect(mountLine(mnt)).toBeUndefined();
    } finally {
      await t?.stop();
      if (mountLine(mnt)) spawnSync('fusermount', ['-uz', mnt]);
    }
  });
});
