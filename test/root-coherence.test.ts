// A root's mount on the low-level core: one inode per file (hard links and their link counts
// right at once through every name), and whatever changes beneath a mounted root (a layer
// reset, another commit) is seen at once through the mount, with nothing stale kept by the
// kernel. The CLI still refuses `layer reset` and `root upgrade` on a mounted root (src/cli,
// src/roots); these tests do both beneath the mount with the library calls and then tell the
// daemon (reloadRootMount), which is what those commands would do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { htOk, requireRoot } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { requireFuse, unmountAll } from './helpers/mounts.js';
import { layerReset } from '../src/overlay/layer-ops.js';
import { reloadRootMount } from '../src/roots/root-mount.js';
import { Repo } from '../src/store/repo.js';
import { Roots } from '../src/roots/roots.js';
import { switchCommit } from '../src/roots/upgrade.js';

const s = scratch('hacktree-coherence-');
const sysroot = join(s.dir, 'sysroot');
const H = (...a: string[]) => htOk(['--sysroot', sysroot, ...a]);
const mnt = join(sysroot, 'roots', 'r', 'mnt');
const m = (p: string) => join(mnt, p);
const layerDir = join(sysroot, 'roots', 'r', 'layer');
const code = (f: () => unknown): string => { try { f(); return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code ?? String(e); } };
let v2 = '';

function tree(name: string, files: Record<string, string>, links: Array<[string, string]> = []): string {
  const dir = join(s.dir, name);
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(join(dir, p, '..'), { recursive: true });
    fs.writeFileSync(join(dir, p), content);
  }
  for (const [from, to] of links) fs.linkSync(join(dir, from), join(dir, to));
  for (const d of ['var', 'home', 'etc']) fs.mkdirSync(join(dir, d), { recursive: true });
  return dir;
}

beforeAll(() => {
  requireRoot('mounts roots with allow_other');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  H('init');
  const v1 = tree('v1', { 'data/pair': 'one file, two names\n', 'data/f': 'from the commit\n', 'data/gone': 'deleted, then back\n', 'data/keep': 'v1\n' }, [['data/pair', 'data/pair2']]);
  H('commit', '-b', 'os', '-s', 'v1', v1);
  const d2 = tree('v2', { 'data/pair': 'one file, two names\n', 'data/f': 'from the commit\n', 'data/gone': 'deleted, then back\n', 'data/keep': 'v2 now\n', 'data/added-in-v2': 'new\n' }, [['data/pair', 'data/pair2']]);
  v2 = H('commit', '-b', 'os2', '-s', 'v2', d2).trim();
  H('root', 'create', 'r', 'os', '--writable', '/data/**');
  H('root', 'mount', 'r');
});

afterAll(() => {
  unmountAll(mnt);
  s.cleanup();
});

describe("a root's hard links", () => {
  it("a commit's hard-linked pair is one inode with nlink 2; ln and rm through the mount show at once", () => {
    const a = fs.statSync(m('data/pair')), b = fs.statSync(m('data/pair2'));
    expect(b.ino).toBe(a.ino);
    expect([a.nlink, b.nlink]).toEqual([2, 2]);
    // The layer copies up the name linked to (as overlayfs does, that breaks its link with
    // pair2, which stays the commit's): pair and pair3 are one inode now.
    fs.linkSync(m('data/pair'), m('data/pair3'));
    const [p1, p3] = [fs.statSync(m('data/pair')), fs.statSync(m('data/pair3'))];
    expect(p3.ino).toBe(p1.ino);
    expect([p1.nlink, p3.nlink]).toEqual([2, 2]);
    fs.appendFileSync(m('data/pair3'), 'appended\n');
    expect(fs.readFileSync(m('data/pair'), 'utf8')).toBe('one file, two names\nappended\n');
    expect(fs.readFileSync(m('data/pair2'), 'utf8')).toBe('one file, two names\n');
    fs.unlinkSync(m('data/pair3'));
    expect(fs.statSync(m('data/pair')).nlink).toBe(1);
  });

  it("a file made in the layer: ln and rm through one name change the other's nlink at once", () => {
    fs.writeFileSync(m('data/x'), 'x');
    fs.linkSync(m('data/x'), m('data/y'));
    expect(fs.statSync(m('data/x')).nlink).toBe(2);
    expect(fs.statSync(m('data/y')).ino).toBe(fs.statSync(m('data/x')).ino);
    fs.unlinkSync(m('data/y'));
    expect(fs.statSync(m('data/x')).nlink).toBe(1);
    fs.unlinkSync(m('data/x'));
  });
});

describe("a commit's file read in C", () => {
  it('is read from its checked object until written, then the layer\'s bytes at once (also through a handle opened before)', () => {
    // The first read checks the object; the next opens and reads stay in C.
    expect(fs.readFileSync(m('data/gone'), 'utf8')).toBe('deleted, then back\n');
    expect(fs.readFileSync(m('data/gone'), 'utf8')).toBe('deleted, then back\n');
    const fd = fs.openSync(m('data/gone'), 'r');
    try {
      fs.writeFileSync(m('data/gone'), 'written\n');
      expect(fs.readFileSync(m('data/gone'), 'utf8')).toBe('written\n');
      fs.appendFileSync(m('data/gone'), 'more\n');
      expect(fs.readFileSync(m('data/gone'), 'utf8')).toBe('written\nmore\n');
    } finally { fs.closeSync(fd); }
    fs.renameSync(m('data/gone'), m('data/moved'));
    expect(fs.readFileSync(m('data/moved'), 'utf8')).toBe('written\nmore\n');
    fs.renameSync(m('data/moved'), m('data/gone'));
  });
});

describe('changes beneath a mounted root', () => {
  it("a layer reset of a file read through the mount: the commit's bytes and attributes at once, and names come and go", async () => {
    fs.writeFileSync(m('data/f'), 'written in the layer, longer than before\n');
    fs.writeFileSync(m('data/made'), 'only in the layer\n');
    fs.unlinkSync(m('data/gone'));
    // Read through the mount: the kernel holds the pages, the attributes and the names.
    expect(fs.readFileSync(m('data/f'), 'utf8')).toBe('written in the layer, longer than before\n');
    expect(fs.readFileSync(m('data/made'), 'utf8')).toBe('only in the layer\n');
    expect(code(() => fs.statSync(m('data/gone')))).toBe('ENOENT');
    expect(fs.statSync(m('data/f')).size).toBe('written in the layer, longer than before\n'.length);
    // As an admin does it: the CLI resets the layer and has the daemon take it up again.
    H('layer', 'reset', 'r', '/data/f');
    expect(fs.readFileSync(m('data/f'), 'utf8')).toBe('from the commit\n');
    expect(fs.statSync(m('data/f')).size).toBe('from the commit\n'.length);
    // The rest of the layer is as it was; a reset of all of it takes the rest.
    expect(fs.readFileSync(m('data/made'), 'utf8')).toBe('only in the layer\n');
    layerReset(layerDir, []);
    await reloadRootMount(new Roots(sysroot), 'r');
    expect(code(() => fs.statSync(m('data/made')))).toBe('ENOENT');
    expect(fs.readdirSync(m('data')).sort()).toEqual(['f', 'gone', 'keep', 'pair', 'pair2']);
    expect(fs.readFileSync(m('data/gone'), 'utf8')).toBe('deleted, then back\n');
    // And the mount still takes writes.
    fs.writeFileSync(m('data/f'), 'again\n');
    expect(fs.readFileSync(m('data/f'), 'utf8')).toBe('again\n');
  });

  it('another commit beneath the mount (what an upgrade does): its files at once, the layer kept', async () => {
    const before = fs.readFileSync(m('data/keep'), 'utf8');
    expect(before).toBe('v1\n');
    expect(code(() => fs.statSync(m('data/added-in-v2')))).toBe('ENOENT');
    const repo = Repo.open(join(sysroot, 'repo'));
    await switchCommit(repo, new Roots(sysroot), 'r', v2, 'os2', 'upgrade');
    expect(await reloadRootMount(new Roots(sysroot), 'r')).toBe(true);
    expect(fs.readFileSync(m('data/keep'), 'utf8')).toBe('v2 now\n');
    expect(fs.readFileSync(m('data/added-in-v2'), 'utf8')).toBe('new\n');
    expect(fs.readFileSync(m('data/f'), 'utf8')).toBe('again\n');
    expect(JSON.parse(H('mounts', '--json')).find((x: { mountpoint: string }) => x.mountpoint === mnt).commit).toBe(v2);
  });
});
