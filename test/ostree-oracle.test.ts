// The real ostree is the judge: it must accept what we write, and we must read what it writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { htOk, requireRoot, requireTool, sh } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { buildAwkwardTree, describeTree } from './helpers/awkward-tree.js';

const MODES = ['bare-user', 'bare', 'archive'] as const;
const ostree = (repo: string, ...args: string[]) => sh('ostree', [`--repo=${repo}`, ...args]);

describe('ostree as oracle', () => {
  const s = scratch();
  const src = join(s.dir, 'src');
  beforeAll(() => {
    requireRoot('the awkward tree has files owned by other users');
    requireTool('ostree', 'ostree');
    buildAwkwardTree(src);
  });
  afterAll(() => s.cleanup());

  for (const mode of MODES) {
    it(`lists a tree identically whether ostree or hacktree committed it (${mode})`, () => {
      const theirs = join(s.dir, `ostree-${mode}`);
      const ours = join(s.dir, `ours-${mode}`);
      ostree(theirs, 'init', `--mode=${mode}`);
      ostree(theirs, 'commit', '-b', 'x', `--tree=dir=${src}`, '-s', 'same');
      htOk(['--repo', ours, 'init', '--mode', mode]);
      htOk(['--repo', ours, 'commit', '-b', 'x', '-s', 'same', src]);
      const a = ostree(theirs, 'ls', '-R', '-C', '-X', 'x');
      const b = ostree(ours, 'ls', '-R', '-C', '-X', 'x');
      expect(b).toBe(a);
      expect(a.split('\n').length).toBeGreaterThan(50);
    });

    it(`ostree fsck passes and ostree checks out what hacktree wrote (${mode})`, () => {
      const ours = join(s.dir, `ours-${mode}`);
      expect(ostree(ours, 'fsck')).toMatch(/no errors found/);
      const co = join(s.dir, `ostree-co-${mode}`);
      ostree(ours, 'checkout', '-U', 'x', co);
      expect(describeTree(co, { owners: false, xattrs: false, modeMask: 0o777 })).toEqual(describeTree(src, { owners: false, xattrs: false, modeMask: 0o777 }));
    });

    it(`hacktree reads, lists, checks out and fscks what ostree wrote (${mode})`, () => {
      const theirs = join(s.dir, `ostree-${mode}`);
      // Our ls -R -C prints what ostree's does.
      expect(htOk(['--repo', theirs, 'ls', '-R', '-C', 'x'])).toBe(ostree(theirs, 'ls', '-R', '-C', 'x'));
      expect(htOk(['--repo', theirs, 'fsck'])).toMatch(/: ok$/m);
      expect(htOk(['--repo', theirs, 'rev-parse', 'x']).trim()).toBe(ostree(theirs, 'rev-parse', 'x').trim());
      const co = join(s.dir, `our-co-of-ostree-${mode}`);
      htOk(['--repo', theirs, 'checkout', 'x', co]);
      expect(describeTree(co)).toEqual(describeTree(src));
    });
  }

  it('matches ostree commit checksums exactly with fixed owners and timestamp', () => {
    const theirs = join(s.dir, 'ostree-fixed');
    const ours = join(s.dir, 'ours-fixed');
    ostree(theirs, 'init', '--mode=archive');
    const t = ostree(theirs, 'commit', '-b', 'main', `--tree=dir=${src}`, '--owner-uid=0', '--owner-gid=0', '--timestamp=2020-01-01T00:00:00Z', '-s', 'test', '--body=', '--add-metadata-string=version=1.0').trim();
    htOk(['--repo', ours, 'init', '--mode', 'archive']);
    const o = htOk(['--repo', ours, 'commit', '-b', 'main', '--owner-uid', '0', '--owner-gid', '0', '--timestamp', '2020-01-01T00:00:00Z', '-s', 'test', '--add-metadata-string', 'version=1.0', src]).trim();
    expect(o).toBe(t);
  });
});
