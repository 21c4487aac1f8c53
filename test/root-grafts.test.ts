// A root's subtrees that nothing can change (no path in them takes writes, the layer holds
// nothing there) are grafted: answered by the addon as a commit's mount answers, without JS.
// What a program sees there must be what it sees anywhere else outside the writable paths
// (the same refusals, the same inode numbers as a commit's mount), and what changes beneath
// the mount (another commit) must show at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { htOk, requireRoot } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { mountRev, requireFuse, stopCounts, unmountAll } from './helpers/mounts.js';
import { logPath } from '../src/mount.js';
import { reloadRootMount } from '../src/roots/root-mount.js';
import { Repo } from '../src/store/repo.js';
import { Roots } from '../src/roots/roots.js';
import { switchCommit } from '../src/roots/upgrade.js';

const s = scratch('hacktree-grafts-');
const sysroot = join(s.dir, 'sysroot');
const repo = join(sysroot, 'repo');
const H = (...a: string[]) => htOk(['--sysroot', sysroot, ...a]);
const mnt = join(sysroot, 'roots', 'r', 'mnt');
const ro = join(s.dir, 'ro');
const m = (p: string) => join(mnt, p);
const code = (f: () => unknown): string => { try { f(); return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code ?? String(e); } };
let v2 = '';

function tree(name: string, files: Record<string, string>): string {
  const dir = join(s.dir, name);
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(join(dir, p, '..'), { recursive: true });
    fs.writeFileSync(join(dir, p), content);
  }
  fs.linkSync(join(dir, 'opt/pkg/lib/pair'), join(dir, 'opt/pkg/lib/pair2'));
  fs.symlinkSync('lib/a.so', join(dir, 'opt/pkg/sym'));
  fs.mkdirSync(join(dir, 'opt/empty'));
  return dir;
}

const v1Files = {
  'opt/top': 'a file of a directory the root serves itself\n',
  'opt/pkg/lib/a.so': 'v1 a\n', 'opt/pkg/lib/pair': 'one file, two names\n', 'opt/pkg/doc/d1/d2/f': 'deep\n',
  'etc/apt/sources': 'deb file:/repo ./\n', 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'var/log/x': 'writable\n',
};

beforeAll(() => {
  requireRoot('mounts roots with allow_other');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  H('init');
  H('commit', '-b', 'os', '-s', 'v1', tree('v1', v1Files));
  v2 = H('commit', '-b', 'os2', '-s', 'v2', tree('v2', { ...v1Files, 'opt/pkg/lib/a.so': 'v2 a, longer\n', 'opt/pkg/new': 'new in v2\n' })).trim();
  H('root', 'create', 'r', 'os');
  fs.rmSync(logPath(mnt), { force: true });
  H('root', 'mount', 'r');
  mountRev(repo, 'os', ro);
});

afterAll(() => {
  unmountAll(mnt);
  s.cleanup();
});

describe("a root's untouched subtree", () => {
  it("shows what a commit's mount shows: inode numbers, attributes, bytes, targets, one inode for hard links", () => {
    for (const p of ['opt/pkg', 'opt/pkg/lib/a.so', 'opt/pkg/lib/pair', 'opt/pkg/lib/pair2', 'opt/pkg/sym', 'opt/pkg/doc/d1/d2/f', 'etc/apt', 'etc/apt/sources']) {
      const a = fs.lstatSync(m(p)), b = fs.lstatSync(join(ro, p));
      expect({ p, ino: a.ino, mode: a.mode, nlink: a.nlink, uid: a.uid, size: a.size, mtime: a.mtimeMs }).toEqual({ p, ino: b.ino, mode: b.mode, nlink: b.nlink, uid: b.uid, size: b.size, mtime: b.mtimeMs });
    }
    expect(fs.readFileSync(m('opt/pkg/lib/a.so'), 'utf8')).toBe('v1 a\n');
    expect(fs.readlinkSync(m('opt/pkg/sym'))).toBe('lib/a.so');
    expect(fs.readFileSync(m('opt/pkg/sym'), 'utf8')).toBe('v1 a\n');
    expect(fs.statSync(m('opt/pkg/lib/pair2')).ino).toBe(fs.statSync(m('opt/pkg/lib/pair')).ino);
    expect(fs.statSync(m('opt/pkg/lib/pair')).nlink).toBe(2);
    expect(fs.readdirSync(m('opt/pkg')).sort()).toEqual(['doc', 'lib', 'sym']);
  });

  it('refuses every change as the directories the root serves itself do (EROFS, EXDEV, ENAMETOOLONG)', () => {
    // The same operations on a directory and a file of the subtree and of /opt, which the root
    // serves itself (a top-level directory is never grafted), and across to /var/log (writable).
    const ops = (dir: string, file: string): Record<string, string> => ({
      create: code(() => fs.writeFileSync(m(`${dir}/new`), 'x')),
      mkdir: code(() => fs.mkdirSync(m(`${dir}/newdir`))),
      symlink: code(() => fs.symlinkSync('x', m(`${dir}/newlink`))),
      unlink: code(() => fs.unlinkSync(m(file))),
      chmod: code(() => fs.chmodSync(m(file), 0o600)),
      chown: code(() => fs.chownSync(m(file), 1, 1)),
      utimes: code(() => fs.utimesSync(m(file), 1, 1)),
      truncate: code(() => fs.truncateSync(m(file), 0)),
      openWrite: code(() => fs.closeSync(fs.openSync(m(file), 'r+'))),
      renameOut: code(() => fs.renameSync(m(file), m('var/log/moved'))),
      renameIn: code(() => fs.renameSync(m('var/log/x'), m(`${dir}/x`))),
      linkOut: code(() => fs.linkSync(m(file), m('var/log/l'))),
      linkIn: code(() => fs.linkSync(m(file), m(`${dir}/l`))),
      longName: code(() => fs.statSync(m(`${dir}/${'n'.repeat(256)}`))),
      missing: code(() => fs.statSync(m(`${dir}/missing`))),
    });
    const grafted = ops('opt/pkg/lib', 'opt/pkg/lib/a.so');
    expect(grafted).toEqual(ops('opt', 'opt/top'));
    expect(grafted).toEqual({
      create: 'EROFS', mkdir: 'EROFS', symlink: 'EROFS', unlink: 'EROFS', chmod: 'EROFS', chown: 'EROFS', utimes: 'EROFS', truncate: 'EROFS',
      openWrite: 'EROFS', renameOut: 'EROFS', renameIn: 'EXDEV', linkOut: 'EXDEV', linkIn: 'EROFS', longName: 'ENAMETOOLONG', missing: 'ENOENT',
    });
    expect(code(() => fs.rmdirSync(m('opt/pkg/doc/d1/d2')))).toBe('EROFS');
    expect(fs.readFileSync(m('var/log/x'), 'utf8')).toBe('writable\n');
  });

  it('shows another commit beneath the mount at once; a file opened before keeps its bytes', async () => {
    const fd = fs.openSync(m('opt/pkg/lib/a.so'), 'r');
    try {
      expect(fs.readFileSync(fd, 'utf8')).toBe('v1 a\n');
      await switchCommit(Repo.open(repo), new Roots(sysroot), 'r', v2, 'os2', 'upgrade');
      expect(await reloadRootMount(new Roots(sysroot), 'r')).toBe(true);
      expect(fs.readFileSync(m('opt/pkg/lib/a.so'), 'utf8')).toBe('v2 a, longer\n');
      expect(fs.statSync(m('opt/pkg/lib/a.so')).size).toBe('v2 a, longer\n'.length);
      expect(fs.readFileSync(m('opt/pkg/new'), 'utf8')).toBe('new in v2\n');
      expect(fs.readdirSync(m('opt/pkg')).sort()).toEqual(['doc', 'lib', 'new', 'sym']);
      const buf = Buffer.alloc(64);
      expect(buf.toString('utf8', 0, fs.readSync(fd, buf, 0, 64, 0))).toBe('v1 a\n');
    } finally { fs.closeSync(fd); }
  });

  it('is walked without a request reaching JS below the graft', () => {
    const dirs = ['opt/pkg', 'opt/pkg/lib', 'opt/pkg/doc', 'opt/pkg/doc/d1', 'opt/pkg/doc/d1/d2'];
    const walk = (d: string): number => fs.readdirSync(m(d), { withFileTypes: true }).reduce((n, e) => n + 1 + (e.isDirectory() ? walk(`${d}/${e.name}`) : 0), 0);
    walk('opt');
    for (const d of dirs) for (const e of fs.readdirSync(m(d))) fs.lstatSync(m(`${d}/${e}`));
    H('root', 'umount', 'r');
    const { js, kernel } = stopCounts(mnt);
    // The kernel opened every directory of the walk; JS was asked to open only those above the
    // graft (/, /opt, /etc, /var/log), each walk's (this test's and the ones before).
    expect(kernel.opendir).toBeGreaterThanOrEqual(dirs.length + 1);
    expect(js.opendir ?? 0).toBeLessThan(kernel.opendir!);
    expect((js.opendir ?? 0) + dirs.length).toBeLessThanOrEqual(kernel.opendir!);
    expect(js.readlink ?? 0).toBe(0);
  });
});
