// Hard links through real mounts: the paths of one regular file of a commit are one inode
// with its real link count, in a commit's mount and in a root's, whoever wrote the commit,
// as in an ostree checkout (which hard-links every path of an object to it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ht, htOk, requireRoot, requireTool, sh } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, mountRev, requireFuse, unmountAll } from './helpers/mounts.js';

const s = scratch('hacktree-hardlinks-');
const src = join(s.dir, 'src');

beforeAll(() => {
  requireRoot('mounts with allow_other');
  requireFuse();
  requireTool('ostree', 'ostree');
  fs.mkdirSync(join(src, 'a'), { recursive: true });
  fs.mkdirSync(join(src, 'b'));
  fs.writeFileSync(join(src, 'a', 'pair'), 'one file, two names\n');
  fs.linkSync(join(src, 'a', 'pair'), join(src, 'b', 'pair2'));
  fs.writeFileSync(join(src, 'a', 'three'), 'three names\n');
  fs.linkSync(join(src, 'a', 'three'), join(src, 'a', 'three2'));
  fs.linkSync(join(src, 'a', 'three'), join(src, 'b', 'three3'));
  fs.writeFileSync(join(src, 'a', 'solo'), 'alone\n');
  // Identical symlinks share an object but, as in an ostree checkout, not an inode.
  fs.symlinkSync('pair', join(src, 'a', 'l1'));
  fs.symlinkSync('pair', join(src, 'b', 'l2'));
});

afterAll(() => {
  unmountAll();
  s.cleanup();
});

/** What stat says of each path, as the source tree on ext4/tmpfs says it. */
function links(dir: string): Record<string, { nlink: number; sameAs: string | null }> {
  const paths = ['a/pair', 'b/pair2', 'a/three', 'a/three2', 'b/three3', 'a/solo', 'a/l1', 'b/l2'];
  const st = paths.map((p) => fs.lstatSync(join(dir, p)));
  return Object.fromEntries(paths.map((p, i) => {
    const first = paths.findIndex((_, j) => st[j]!.ino === st[i]!.ino);
    return [p, { nlink: st[i]!.nlink, sameAs: first === i ? null : paths[first]! }];
  }));
}

describe('hard links', () => {
  const expected = () => links(src);

  it('a commit written by hacktree shows each hard-linked file as one inode with its link count', () => {
    const repo = join(s.dir, 'repo'), mnt = join(s.dir, 'mnt1');
    htOk(['--repo', repo, 'init']);
    htOk(['--repo', repo, 'commit', '-b', 'os', src]);
    mountRev(repo, 'os', mnt);
    try {
      expect(links(mnt)).toEqual(expected());
      expect(links(mnt)['b/three3']).toEqual({ nlink: 3, sameAs: 'a/three' });
      expect(fs.readFileSync(join(mnt, 'b', 'pair2'), 'utf8')).toBe('one file, two names\n');
      const a = fs.statSync(join(mnt, 'a', 'pair')).ino;
      forceUnmount(mnt);
      mountRev(repo, 'os', mnt); // inode numbers are stable across mounts
      expect(fs.statSync(join(mnt, 'b', 'pair2')).ino).toBe(a);
    } finally {
      forceUnmount(mnt);
    }
  });

  it('fsck drops a link-count record that disagrees with the tree, and a mount counts again', () => {
    const repo = join(s.dir, 'repo'), mnt = join(s.dir, 'mnt1');
    const db = new Database(join(repo, 'hacktree', 'index.db'));
    try {
      const row = db.prepare('SELECT tree, links FROM tree_links').get() as { tree: Buffer; links: Buffer };
      const bad = Buffer.from(row.links);
      bad.writeUInt32LE(bad.readUInt32LE(8 + 32) + 5, 8 + 32); // one file gets 5 more links
      db.prepare('UPDATE tree_links SET links = ? WHERE tree = ?').run(bad, row.tree);
    } finally {
      db.close();
    }
    const r = ht(['--repo', repo, 'fsck', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual([expect.objectContaining({ kind: 'bad-link-counts' })]);
    expect(ht(['--repo', repo, 'fsck']).code).toBe(0);
    mountRev(repo, 'os', mnt);
    try {
      expect(links(mnt)).toEqual(expected());
    } finally {
      forceUnmount(mnt);
    }
  });

  it('so does a commit the real ostree wrote (the counts are made at the first mount)', () => {
    const repo = join(s.dir, 'orepo'), mnt = join(s.dir, 'mnt2');
    sh('ostree', [`--repo=${repo}`, 'init', '--mode=bare-user']);
    sh('ostree', [`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${src}`]);
    mountRev(repo, 'os', mnt);
    try {
      expect(links(mnt)).toEqual(expected());
    } finally {
      forceUnmount(mnt);
    }
    // The oracle agrees on which paths are one file.
    const co = join(s.dir, 'ocheckout');
    sh('ostree', [`--repo=${repo}`, 'checkout', '-U', 'os', co]);
    const ostreeSays = links(co);
    for (const [p, l] of Object.entries(expected())) expect(ostreeSays[p]!.sameAs, p).toBe(l.sameAs);
  });

  it("a root's mount shows the commit's hard links the same way", () => {
    const sysroot = join(s.dir, 'sysroot');
    const H = (...args: string[]) => htOk(['--sysroot', sysroot, ...args]);
    H('init');
    H('commit', '-b', 'os', src);
    H('root', 'create', 'r', 'os', '--writable', '/b/**');
    const mnt = join(sysroot, 'roots', 'r', 'mnt');
    H('root', 'mount', 'r');
    try {
      expect(isMounted(mnt)).toBe(true);
      expect(links(mnt)).toEqual(expected());
    } finally {
      forceUnmount(mnt);
    }
  });
});
