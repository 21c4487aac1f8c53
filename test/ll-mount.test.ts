// A commit mounted through the low-level core (native/ll): hard links as one node, nodes that
// survive the kernel's FORGETs, parallel readers, a corrupt object, and what reaches JS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { htOk, requireRoot, sh } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { buildGeneratedTree } from './helpers/trees.js';
import { forceUnmount, mountRev, requireFuse, stopCounts, unmountAll } from './helpers/mounts.js';
import { logPath } from '../src/mount.js';

const s = scratch('hacktree-ll-');
const src = join(s.dir, 'src');
const repo = join(s.dir, 'repo');

beforeAll(() => {
  requireRoot('mounts with allow_other and drops the kernel caches');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  buildGeneratedTree(src, 3000);
  fs.mkdirSync(join(src, 'big'));
  for (let i = 0; i < 3; i++) fs.writeFileSync(join(src, 'big', `b${i}`), Buffer.alloc(4 * 1024 * 1024 + i * 4099, `block ${i} `));
  fs.writeFileSync(join(src, 'usr', 'pair'), 'one file, two names\n');
  fs.linkSync(join(src, 'usr', 'pair'), join(src, 'etc', 'pair2'));
  htOk(['--repo', repo, 'init']);
  htOk(['--repo', repo, 'commit', '-b', 'gen', src]);
});

afterAll(() => {
  unmountAll();
  s.cleanup();
});


function mounted(name: string, fn: (mnt: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const mnt = join(s.dir, name);
    fs.rmSync(logPath(mnt), { force: true });
    mountRev(repo, 'gen', mnt);
    try {
      await fn(mnt);
    } finally {
      forceUnmount(mnt);
    }
  };
}

/** The content part of a walk. */
const hashes = (w: string): string => w.split('\n').filter((l) => !l.startsWith('.')).join('\n');

/** Every entry's type, mode, owner, size, inode, link count and target, and every file's hash. */
const walk = (dir: string): string =>
  sh('sh', ['-c', `cd ${dir} && find . -printf '%p %y %m %U %G %s %i %n %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum`]);

describe('the low-level core', () => {
  it('serves a hard-linked pair as one inode with its link count, readable through either name', mounted('mnt-links', (mnt) => {
    const a = fs.statSync(join(mnt, 'usr', 'pair')), b = fs.statSync(join(mnt, 'etc', 'pair2'));
    expect(b.ino).toBe(a.ino);
    expect([a.nlink, b.nlink]).toEqual([2, 2]);
    expect(fs.readFileSync(join(mnt, 'usr', 'pair'), 'utf8')).toBe('one file, two names\n');
    expect(fs.readFileSync(join(mnt, 'etc', 'pair2'), 'utf8')).toBe('one file, two names\n');
    // The other name's own listing shows the same node.
    const listed = sh('find', [join(mnt, 'etc'), '-maxdepth', '1', '-name', 'pair2', '-printf', '%i %n']);
    expect(listed).toBe(`${a.ino} 2`);
  }));

  it('loses no node to the kernel forgetting: a walk after drop_caches sees the same tree', () => {
    const mnt = join(s.dir, 'mnt-forget');
    fs.rmSync(logPath(mnt), { force: true });
    mountRev(repo, 'gen', mnt);
    try {
      const first = walk(mnt);
      expect(hashes(first)).toBe(hashes(walk(src)));
      for (const what of ['2', '3']) {
        fs.writeFileSync('/proc/sys/vm/drop_caches', what);
        expect(walk(mnt)).toBe(first);
      }
    } finally {
      forceUnmount(mnt);
    }
    const { kernel } = stopCounts(mnt);
    expect((kernel.forget ?? 0) + (kernel.batch_forget ?? 0)).toBeGreaterThan(0);
  });

  it('gives 8 parallel readers of the whole tree the same bytes as the source', mounted('mnt-par', async (mnt) => {
    const sums = `find . -type f -print0 | sort -z | xargs -0 sha256sum`;
    const want = sh('sh', ['-c', `cd ${src} && ${sums}`]);
    const runs = await Promise.all(Array.from({ length: 8 }, () => new Promise<string>((res, rej) => {
      const p = spawn('sh', ['-c', `cd ${mnt} && ${sums}`]);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('error', rej);
      p.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`reader exited ${code}`))));
    })));
    for (const r of runs) expect(r).toBe(want);
  }));

  it('asks JS for one listing per directory of a cold find + tar, and no lookup', async () => {
    const mnt = join(s.dir, 'mnt-cold');
    fs.rmSync(logPath(mnt), { force: true });
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    mountRev(repo, 'gen', mnt);
    try {
      sh('find', [mnt, '-printf', '%p %s %l\n']);
      sh('sh', ['-c', `tar cf - -C ${mnt} . | wc -c`]);
    } finally {
      forceUnmount(mnt);
    }
    const dirs = Number(sh('sh', ['-c', `find ${src} -type d | wc -l`]).trim());
    const { js, kernel } = stopCounts(mnt);
    expect(js.readdir).toBe(dirs);
    // (statfs: whoever mounts or lists mounts asks for it)
    // (readdir-ahead: of those, the listings made before the kernel asked)
    expect(Object.keys(js).filter((op) => !['readdir', 'readdir-ahead', 'read', 'statfs'].includes(op))).toEqual([]);
    expect(kernel.readdirplus).toBeGreaterThanOrEqual(dirs);
  });

  it('fails a directory whose dirtree is corrupt or missing with EIO and keeps serving the rest', async () => {
    // Dirtrees are read and hashed by the addon (native/ll/read-meta.c) on a commit's mount.
    const bad = join(s.dir, 'repo-bad-tree');
    htOk(['--repo', bad, 'init']);
    htOk(['--repo', bad, 'commit', '-b', 'gen', src]);
    const treeOf = (path: string): string => JSON.parse(htOk(['--repo', bad, 'ls', '--json', 'gen', path]))[0].tree;
    const treeFile = (csum: string): string => join(bad, 'objects', csum.slice(0, 2), `${csum.slice(2)}.dirtree`);
    const flipped = treeOf('/big'), removed = treeOf('/usr/d1/s1');
    const obj = treeFile(flipped);
    fs.chmodSync(obj, 0o644);
    const bytes = fs.readFileSync(obj);
    bytes[1] = bytes[1]! ^ 0x20;
    fs.writeFileSync(obj, bytes);
    fs.rmSync(treeFile(removed));
    const mnt = join(s.dir, 'mnt-bad-tree');
    fs.rmSync(logPath(mnt), { force: true });
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    mountRev(bad, 'gen', mnt);
    try {
      expect(() => fs.readdirSync(join(mnt, 'big'))).toThrow(/EIO/);
      expect(() => fs.readdirSync(join(mnt, 'usr', 'd1', 's1'))).toThrow(/EIO/);
      expect(fs.readdirSync(join(mnt, 'usr', 'd1', 's2')).sort()).toEqual(fs.readdirSync(join(src, 'usr', 'd1', 's2')).sort());
      expect(fs.readFileSync(join(mnt, 'usr', 'pair'), 'utf8')).toBe('one file, two names\n');
      expect(() => fs.readdirSync(join(mnt, 'big'))).toThrow(/EIO/);
    } finally {
      forceUnmount(mnt);
    }
    const log = fs.readFileSync(logPath(mnt), 'utf8');
    expect(log).toContain(`/big: corrupt dirtree object ${flipped}: checksum mismatch`);
    expect(log).toContain(`/usr/d1/s1: missing dirtree object ${removed}`);
  });

  it('fails a corrupt object with EIO and keeps serving the rest', async () => {
    const bad = join(s.dir, 'repo-bad');
    htOk(['--repo', bad, 'init']);
    htOk(['--repo', bad, 'commit', '-b', 'gen', src]);
    const { checksum } = JSON.parse(htOk(['--repo', bad, 'ls', '--json', 'gen', '/big/b1']))[0];
    const obj = join(bad, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.file`);
    fs.chmodSync(obj, 0o644);
    const fd = fs.openSync(obj, 'r+');
    fs.writeSync(fd, 'X', 1000);
    fs.closeSync(fd);
    const mnt = join(s.dir, 'mnt-bad');
    mountRev(bad, 'gen', mnt);
    try {
      expect(() => fs.readFileSync(join(mnt, 'big', 'b1'))).toThrow(/EIO/);
      expect(fs.readFileSync(join(mnt, 'big', 'b0')).equals(fs.readFileSync(join(src, 'big', 'b0')))).toBe(true);
      expect(() => fs.readFileSync(join(mnt, 'big', 'b1'))).toThrow(/EIO/);
      expect(fs.readFileSync(join(mnt, 'usr', 'pair'), 'utf8')).toBe('one file, two names\n');
      expect(sh('find', [mnt, '-printf', '%p %l\n']).split('\n').length).toBeGreaterThan(3000);
    } finally {
      forceUnmount(mnt);
    }
    expect(fs.readFileSync(logPath(mnt), 'utf8')).toContain(`/big/b1: corrupt file object ${checksum}`);
  });
});
