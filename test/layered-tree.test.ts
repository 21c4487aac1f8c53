// The layer's behaviour without a mount: a LayeredTree over an in-memory
// commit. copy-up, whiteouts, opaque directories, metadata records, the
// refusals, and names standing for files unlinked while open.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BaseNode, BaseTree } from '../src/overlay/base-tree.js';
import { Layer, parentOf } from '../src/overlay/layer.js';
import { LayeredTree, RENAME_EXCHANGE, RENAME_NOREPLACE } from '../src/overlay/layered-tree.js';
import { Rules } from '../src/overlay/rules.js';
import { scratch } from './helpers/tmp.js';

type FakeNode = BaseNode & { content?: string };

const absent = (code: 'ENOENT' | 'ENOTDIR'): Error => Object.assign(new Error(code), { code });

/** A commit held in memory: path → entry. */
class FakeBase implements BaseTree<FakeNode> {
  readonly dirTimeMs = 1_500_000_000_000;
  private readonly nodes = new Map<string, FakeNode>();
  constructor(spec: Record<string, number | [mode: number, content: string]>) {
    this.nodes.set('/', { kind: 'dir', path: '/', meta: { uid: 0, gid: 0, mode: 0o40755, xattrs: [] } });
    for (const [path, v] of Object.entries(spec)) {
      const [mode, content] = typeof v === 'number' ? [v, ''] : v;
      const meta = { uid: 0, gid: 0, mode, xattrs: [] as Array<[string, Buffer]> };
      this.nodes.set(path, (mode & 0o170000) === 0o40000 ? { kind: 'dir', path, meta } : { kind: 'file', path, meta: { ...meta, symlinkTarget: '' }, content });
    }
  }
  async resolve(path: string): Promise<FakeNode> {
    const n = this.nodes.get(path);
    if (n) return n;
    const parent = this.nodes.get(parentOf(path));
    throw absent(parent && parent.kind !== 'dir' ? 'ENOTDIR' : 'ENOENT');
  }
  async childNames(dir: FakeNode & { kind: 'dir' }): Promise<string[]> {
    return [...this.nodes.keys()].filter((p) => p !== '/' && parentOf(p) === dir.path).map((p) => p.slice(p.lastIndexOf('/') + 1));
  }
  async copyContent(file: FakeNode & { kind: 'file' }, dest: string): Promise<void> {
    fs.writeFileSync(dest, file.content ?? '', { flag: 'wx', mode: 0o600 });
  }
}

const codeOf = async (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: { code?: unknown }) => e.code);
const names = async (t: LayeredTree<FakeNode>, dir: string): Promise<string[]> => (await t.list(dir)).map(([n]) => n).sort();
const ROOT = { uid: 0, gid: 0 };

describe('a layered tree over an in-memory commit', () => {
  let tmp: { dir: string; cleanup: () => void };
  let layer: Layer;
  let t: LayeredTree<FakeNode>;
  let base: FakeBase;

  beforeEach(() => {
    tmp = scratch();
    layer = Layer.open(join(tmp.dir, 'layer'), { forMount: true });
    layer.rules = new Rules(['/var/**', '/etc/passwd']);
    base = new FakeBase({
      '/etc': 0o40755, '/etc/passwd': [0o100644, 'root:x:0:0::/root:/bin/sh\n'], '/etc/os-release': [0o100644, 'ID=test\n'],
      '/var': 0o40755, '/var/lib': 0o40755, '/var/lib/x': [0o100640, 'x'], '/var/cache': 0o40755, '/var/cache/a': [0o100644, 'a'],
      '/usr': 0o40755, '/usr/sh': [0o100755, '#!'],
    });
    t = new LayeredTree(layer, base);
  });
  afterEach(() => { layer.close(); tmp.cleanup(); });

  it('refuses changes outside the rules with EROFS, renames and links out of them with EXDEV', async () => {
    expect(await codeOf(t.openFile('/etc/os-release', fs.constants.O_WRONLY))).toBe('EROFS');
    expect(await codeOf(t.create('/usr/new', 0o644, ROOT))).toBe('EROFS');
    expect(await codeOf(t.chmod('/usr/sh', 0o700))).toBe('EROFS');
    expect(await codeOf(t.rename('/var/lib/x', '/usr/x'))).toBe('EXDEV');
    expect(await codeOf(t.rename('/usr/sh', '/var/sh'))).toBe('EROFS');
    expect(await codeOf(t.link('/usr/sh', '/var/sh'))).toBe('EXDEV');
    // A base directory is not copied up whole to be renamed.
    expect(await codeOf(t.rename('/var/cache', '/var/cache2'))).toBe('EXDEV');
    expect(await codeOf(t.mkdir(`/var/${'n'.repeat(256)}`, 0o755, ROOT))).toBe('ENAMETOOLONG');
    expect(fs.readdirSync(layer.upper)).toEqual([]);
  });

  it('copies a file up on a write-open, with its content and mode; a read-open stays the commit\'s', async () => {
    expect(await t.openFile('/etc/passwd', fs.constants.O_RDONLY)).toBeNull();
    expect(layer.inUpper.has('/etc/passwd')).toBe(false);
    const fd = (await t.openFile('/etc/passwd', fs.constants.O_RDWR))!;
    fs.closeSync(fd);
    const p = join(layer.upper, 'etc/passwd');
    expect(fs.readFileSync(p, 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(fs.statSync(p).mode).toBe(0o100644);
    expect(fs.statSync(join(layer.upper, 'etc')).mode).toBe(0o40755);
    expect((await t.lookup('/etc/passwd')).where).toBe('upper');
  });

  it('records a chmod of a base file without copying it', async () => {
    await t.chmod('/var/lib/x', 0o600);
    expect(layer.meta.get('/var/lib/x')?.mode).toBe(0o100600);
    expect(layer.inUpper.has('/var/lib/x')).toBe(false);
    const e = await t.lookup('/var/lib/x');
    expect(e.where === 'base' && e.over?.mode).toBe(0o100600);
  });

  it('whites out deleted base entries, and makes a directory made in a deleted one\'s place opaque', async () => {
    expect(await codeOf(t.rmdir('/var/cache'))).toBe('ENOTEMPTY');
    await t.unlink('/var/cache/a');
    expect(layer.whiteouts.has('/var/cache/a')).toBe(true);
    expect(await codeOf(t.lookup('/var/cache/a'))).toBe('ENOENT');
    await t.rmdir('/var/cache');
    expect([...layer.whiteouts]).toEqual(['/var/cache']);
    expect(await names(t, '/var')).toEqual(['lib']);
    await t.mkdir('/var/cache', 0o755, ROOT);
    expect(layer.whiteouts.has('/var/cache')).toBe(false);
    expect(layer.opaque.has('/var/cache')).toBe(true);
    expect(await names(t, '/var/cache')).toEqual([]);
    expect(t.isLayerOnlyDir('/var/cache')).toBe(true);
  });

  it('deleting a base entry moves its directory\'s mtime and ctime, as on a disk (found by model-layer)', async () => {
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await t.unlink('/var/cache/a');
    const e = await t.lookup('/var/cache');
    expect(e.where).toBe('upper');
    const st = (e as { st: fs.Stats }).st;
    expect(st.mtimeMs).toBeGreaterThan(before);
    expect(st.ctimeMs).toBeGreaterThan(before);
  });

  it('a copy-up is made in work/, not in the tree: one left half-made by a daemon that died is gone at the next mount', async () => {
    fs.writeFileSync(join(tmp.dir, 'layer', 'work', 'copyup-1'), 'half');
    layer.close();
    layer = Layer.open(join(tmp.dir, 'layer'), { forMount: true });
    expect(fs.readdirSync(join(tmp.dir, 'layer', 'work'))).toEqual([]);
  });

  it('a copy-up leaves the mtime of the directory it goes to as it was (found by model-layer)', async () => {
    await t.mkdir('/var/cache/sub', 0o755, ROOT);
    const dir = join(layer.upper, 'var', 'cache');
    fs.utimesSync(dir, 1000, 2000);
    await t.truncate('/var/cache/a', 0);
    expect(fs.statSync(dir).mtimeMs).toBe(2000_000);
    // And the directory made on the way for it: its parent keeps its time too.
    fs.utimesSync(join(layer.upper, 'var'), 1000, 3000);
    await t.truncate('/var/lib/x', 0);
    expect(fs.statSync(join(layer.upper, 'var')).mtimeMs).toBe(3000_000);
    // The directory copied up shows the time it showed as the commit's.
    expect(fs.statSync(join(layer.upper, 'var', 'lib')).mtimeMs).toBe(base.dirTimeMs);
  });

  it('a delete or rename that stops halfway (a crash) never brings the commit\'s entry back: the whiteout is written first', async () => {
    for (const op of ['unlink', 'rename'] as const) {
      const fd = (await t.openFile('/var/cache/a', fs.constants.O_WRONLY | fs.constants.O_TRUNC))!;
      fs.writeSync(fd, `changed before ${op}`);
      fs.closeSync(fd);
      // The crash: no layer.db write gets through any more.
      const db = layer.db as unknown as Record<string, unknown>;
      const fail = (): never => { throw Object.assign(new Error('EIO'), { code: 'EIO' }); };
      db.addWhiteout = fail;
      db.clearBelow = fail;
      expect(await codeOf(op === 'unlink' ? t.unlink('/var/cache/a') : t.rename('/var/cache/a', '/var/cache/b'))).toBe('EIO');
      delete db.addWhiteout;
      delete db.clearBelow;
      // What a new mount finds: the changed file, not the commit's.
      layer.close();
      layer = Layer.open(join(tmp.dir, 'layer'), { forMount: true });
      layer.rules = new Rules(['/var/**']);
      t = new LayeredTree(layer, base);
      expect(fs.readFileSync(t.upperPath('/var/cache/a'), 'utf8')).toBe(`changed before ${op}`);
      expect((await t.lookup('/var/cache/a')).where).toBe('upper');
    }
  });

  it('renames a file within the rules: the new name in upper/, the old one whited out', async () => {
    await t.rename('/var/lib/x', '/var/y');
    expect(fs.readFileSync(join(layer.upper, 'var/y'), 'utf8')).toBe('x');
    expect(layer.whiteouts.has('/var/lib/x')).toBe(true);
    expect(await names(t, '/var/lib')).toEqual([]);
    expect(await names(t, '/var')).toEqual(['cache', 'lib', 'y']);
  });

  it('renameat2: RENAME_NOREPLACE refuses an existing target; RENAME_EXCHANGE swaps files, also a base one; two names of one inode stay', async () => {
    fs.closeSync(await t.create('/var/a', 0o644, ROOT));
    fs.writeFileSync(join(layer.upper, 'var/a'), 'A');
    expect(await codeOf(t.rename('/var/a', '/var/lib/x', RENAME_NOREPLACE))).toBe('EEXIST');
    expect(await codeOf(t.rename('/var/a', '/var/b', RENAME_NOREPLACE | RENAME_EXCHANGE))).toBe('EINVAL');
    expect(await codeOf(t.rename('/var/a', '/var/none', RENAME_EXCHANGE))).toBe('ENOENT');
    await t.rename('/var/a', '/var/lib/x', RENAME_EXCHANGE);
    expect(fs.readFileSync(join(layer.upper, 'var/a'), 'utf8')).toBe('x');
    expect(fs.readFileSync(join(layer.upper, 'var/lib/x'), 'utf8')).toBe('A');
    expect(await names(t, '/var')).toEqual(['a', 'cache', 'lib']);
    expect(await names(t, '/var/lib')).toEqual(['x']);
    expect(layer.whiteouts.size).toBe(0);
    expect(await codeOf(t.rename('/var/a', '/etc/os-release', RENAME_EXCHANGE))).toBe('EXDEV');
    expect(await codeOf(t.rename('/var/a', '/var/cache', RENAME_EXCHANGE))).toBe('EXDEV');
    await t.rename('/var/a', '/var/b', RENAME_NOREPLACE);
    expect(await names(t, '/var')).toEqual(['b', 'cache', 'lib']);
    await t.link('/var/b', '/var/c');
    await t.rename('/var/b', '/var/c');
    expect(await names(t, '/var')).toEqual(['b', 'c', 'cache', 'lib']);
  });

  it('gives new entries the caller\'s ids, and the group of a setgid parent', async () => {
    await t.mkdir('/var/shared', 0o2775, ROOT);
    await t.chown('/var/shared', null, 50);
    fs.closeSync(await t.create('/var/shared/f', 0o644, { uid: 1000, gid: 100 }));
    const st = fs.statSync(join(layer.upper, 'var/shared/f'));
    expect([st.uid, st.gid, st.mode]).toEqual([1000, 50, 0o100644]);
    await t.mkdir('/var/shared/d', 0o755, { uid: 1000, gid: 100 });
    expect(fs.statSync(join(layer.upper, 'var/shared/d')).mode).toBe(0o42755);
  });
});
