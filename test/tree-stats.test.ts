// Tree stats: each dirtree's entries as a mount shows them, kept in the repo's
// index so a listing reads one record instead of one object per entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ht, htOk, requireRoot, requireTool, sh } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { buildAwkwardTree, describeTree } from './helpers/awkward-tree.js';
import { forceUnmount, mountRev, requireFuse, unmountAll } from './helpers/mounts.js';
import { parseTreeStats, serializeTreeStats, type TreeStats } from '../src/store/tree-stats.js';
import type { DirTree } from '../src/store/objects/dirtree.js';
import { Repo } from '../src/store/repo.js';
import { resolveRev } from '../src/store/rev.js';
import type { Checksum } from '../src/store/checksum.js';

const s = scratch('hacktree-tree-stats-');
const src = join(s.dir, 'src');

beforeAll(() => {
  requireRoot('the awkward tree has files owned by other users and security.capability');
  requireFuse();
  requireTool('ostree', 'ostree');
  fs.chmodSync(s.dir, 0o755);
  buildAwkwardTree(src);
});

afterAll(() => {
  unmountAll();
  s.cleanup();
});

const csum = (c: string): Checksum => c.repeat(64);
const treeOf = (files: number, dirs: number): DirTree => ({
  files: Array.from({ length: files }, (_, i) => ({ name: `f${i}`, checksum: csum('a') })),
  dirs: Array.from({ length: dirs }, (_, i) => ({ name: `d${i}`, tree: csum('b'), meta: csum('c') })),
});

describe('the record format', () => {
  const stats: TreeStats = {
    files: [
      { meta: { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, size: 12 },
      { meta: { uid: 1000, gid: 4294967294, mode: 0o104755, symlinkTarget: '', xattrs: [['security.capability', Buffer.from([1, 0, 0, 2])], ['user.x', Buffer.alloc(0)]] }, size: 2 ** 40 + 3 },
      { meta: { uid: 0, gid: 0, mode: 0o120777, symlinkTarget: '../usr/lib/ünïcode', xattrs: [] }, size: 0 },
    ],
    subdirs: [0, 7],
  };

  it('round-trips files, symlinks, xattrs, sizes past 4 GB and subdirectory counts', () => {
    expect(parseTreeStats(serializeTreeStats(stats), treeOf(3, 2))).toEqual(stats);
  });

  it('refuses a record that does not fit the dirtree, is truncated or has trailing bytes', () => {
    const raw = serializeTreeStats(stats);
    expect(() => parseTreeStats(raw, treeOf(2, 2))).toThrow(/hold 3 files and 2 directories/);
    expect(() => parseTreeStats(raw.subarray(0, raw.length - 1), treeOf(3, 2))).toThrow(/truncated/);
    expect(() => parseTreeStats(Buffer.concat([raw, Buffer.alloc(1)]), treeOf(3, 2))).toThrow(/trailing/);
    const badVersion = Buffer.from(raw);
    badVersion.writeUInt32LE(9, 0);
    expect(() => parseTreeStats(badVersion, treeOf(3, 2))).toThrow(/unknown version/);
    const badMode = Buffer.from(raw);
    badMode.writeUInt32LE(0o060644, 12 + 8); // first file's mode: a block device
    expect(() => parseTreeStats(badMode, treeOf(3, 2))).toThrow(/bad entry/);
  });
});

/** Every dirtree of a commit, with what its objects say of each file. */
async function expectedStats(repoPath: string, rev: string): Promise<Map<Checksum, { tree: DirTree; want: TreeStats }>> {
  const repo = Repo.open(repoPath);
  try {
    const out = new Map<Checksum, { tree: DirTree; want: TreeStats }>();
    const walk = async (treeCsum: Checksum): Promise<number> => {
      const tree = await repo.loadDirTree(treeCsum);
      const files = await Promise.all(tree.files.map(async (f) => {
        const { meta, size } = await repo.loadFileMeta(f.checksum);
        return { meta, size: (meta.mode & 0o170000) === 0o120000 ? 0 : size };
      }));
      const subdirs: number[] = [];
      for (const d of tree.dirs) { await walk(d.tree); subdirs.push((await repo.loadDirTree(d.tree)).dirs.length); }
      out.set(treeCsum, { tree, want: { files, subdirs } });
      return tree.dirs.length;
    };
    await walk((await repo.loadCommit(await resolveRev(repo, rev))).rootTree);
    return out;
  } finally {
    repo.close();
  }
}

function recorded(repoPath: string): Map<string, Buffer> {
  const db = new Database(join(repoPath, 'hacktree', 'index.db'), { readonly: true });
  try {
    return new Map((db.prepare('SELECT tree, stats FROM tree_stats').all() as Array<{ tree: Buffer; stats: Buffer }>).map((r) => [r.tree.toString('hex'), r.stats]));
  } finally {
    db.close();
  }
}

function expectRecordsMatch(got: Map<string, Buffer>, want: Map<Checksum, { tree: DirTree; want: TreeStats }>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [tree, w] of want) expect(parseTreeStats(got.get(tree)!, w.tree)).toEqual(w.want);
}

describe('commit records the stats of every dirtree it writes', () => {
  for (const mode of ['bare-user', 'bare', 'archive']) {
    it(`matches what the objects say (${mode})`, async () => {
      const repo = join(s.dir, `repo-${mode}`);
      htOk(['--repo', repo, 'init', '--mode', mode]);
      htOk(['--repo', repo, 'commit', '-b', 'awk', src]);
      expectRecordsMatch(recorded(repo), await expectedStats(repo, 'awk'));
    });
  }

  it('a re-commit of an unchanged tree records what is missing, from the stat cache path', async () => {
    const repo = join(s.dir, 'repo-bare-user');
    const db = new Database(join(repo, 'hacktree', 'index.db'));
    db.exec('DELETE FROM tree_stats');
    db.close();
    htOk(['--repo', repo, 'commit', '-b', 'awk2', src]);
    expectRecordsMatch(recorded(repo), await expectedStats(repo, 'awk2'));
  });
});

describe('fsck checks the records against the objects', () => {
  it('reports a record that says other metadata than its objects, drops it, and is clean after', async () => {
    const repo = join(s.dir, 'repo-bare');
    const want = await expectedStats(repo, 'awk');
    const [tree, { tree: t, want: stats }] = [...want.entries()].find(([, w]) => w.want.files.length > 0)!;
    const lie: TreeStats = { ...stats, files: stats.files.map((f, i) => (i === 0 ? { ...f, meta: { ...f.meta, mode: f.meta.mode ^ 0o002 } } : f)) };
    const db = new Database(join(repo, 'hacktree', 'index.db'));
    db.prepare('UPDATE tree_stats SET stats = ? WHERE tree = ?').run(serializeTreeStats(lie), Buffer.from(tree, 'hex'));
    db.close();
    const r = ht(['--repo', repo, 'fsck']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(`tree stats of dirtree ${tree} says other metadata for '${t.files[0]!.name}' than its object`);
    expect(recorded(repo).has(tree)).toBe(false);
    expect(htOk(['--repo', repo, 'fsck']).trim()).toMatch(/: ok$/);
  });
});

describe('a mount of a commit ostree wrote', () => {
  it('records each directory it lists in full, and serves the same from the records', async () => {
    const repo = join(s.dir, 'repo-ostree');
    sh('ostree', [`--repo=${repo}`, 'init', '--mode=bare-user']);
    sh('ostree', [`--repo=${repo}`, 'commit', '-b', 'awk', `--tree=dir=${src}`]);
    expect(fs.existsSync(join(repo, 'hacktree', 'index.db')) ? recorded(repo).size : 0).toBe(0);
    const mnt = join(s.dir, 'mnt-ostree');
    const want = describeTree(src);
    mountRev(repo, 'awk', mnt);
    try {
      expect(describeTree(mnt)).toEqual(want);
    } finally {
      forceUnmount(mnt); // the daemon writes what it learnt as it stops
    }
    expectRecordsMatch(recorded(repo), await expectedStats(repo, 'awk'));
    mountRev(repo, 'awk', mnt);
    try {
      expect(describeTree(mnt)).toEqual(want);
    } finally {
      forceUnmount(mnt);
    }
  });

  it('ignores a record that does not fit its dirtree, serves from the objects and replaces it', async () => {
    const repo = join(s.dir, 'repo-ostree');
    const db = new Database(join(repo, 'hacktree', 'index.db'));
    const want = await expectedStats(repo, 'awk');
    const rootTree = [...want.keys()].pop()!; // the walk records the root last
    db.prepare('UPDATE tree_stats SET stats = ? WHERE tree = ?').run(serializeTreeStats({ files: [], subdirs: [] }), Buffer.from(rootTree, 'hex'));
    db.close();
    const mnt = join(s.dir, 'mnt-ostree');
    mountRev(repo, 'awk', mnt);
    try {
      expect(describeTree(mnt)).toEqual(describeTree(src));
    } finally {
      forceUnmount(mnt);
    }
    expectRecordsMatch(recorded(repo), want);
  });
});
