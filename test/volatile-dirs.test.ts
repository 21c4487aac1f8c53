// /run and /tmp of a root's mount are a transient writable place, as a tmpfs there
// would be: plain `chroot MOUNT` runs the account tools (adduser locks /run/adduser),
// /usr still refuses writes, and a new mount starts them over from the commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { htOk, requireRoot, requireTool } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { debianRoot } from './helpers/debian-root.js';
import { forceUnmount, requireFuse } from './helpers/mounts.js';

const s = scratch('hacktree-volatile-');
const sys = join(s.dir, 'sys');
const mnt = join(s.dir, 'mnt');
const H = (args: string[]): string => htOk(['--sysroot', sys, ...args]);

function inRoot(cmd: string): { code: number; out: string } {
  const r = spawnSync('chroot', [mnt, '/bin/sh', '-c', cmd], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  requireRoot('mounts with allow_other and chroots');
  requireFuse();
  requireTool('chroot', 'coreutils');
  const deb = await debianRoot();
  H(['init']);
  H(['commit', '-b', 'deb', deb]);
  H(['root', 'create', 'd', 'deb']);
  fs.mkdirSync(mnt);
  H(['root', 'mount', 'd', mnt]);
}, 900_000);

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe('/run and /tmp of a root', () => {
  it('chroot MOUNT adduser works without a tmpfs on /run; /usr still gives EROFS', () => {
    const add = inRoot("adduser --disabled-password --gecos '' alice");
    expect(add, add.out).toMatchObject({ code: 0 });
    expect(inRoot('id -u alice').out.trim()).toBe('1000');
    expect(inRoot('stat -c %U /home/alice').out.trim()).toBe('alice');
    expect(inRoot('touch /usr/x').out).toMatch(/Read-only file system/);
    expect(inRoot('echo pid > /run/test.pid && mkdir -p /run/user/1000 && echo t > /tmp/scratch && cat /run/test.pid /tmp/scratch').out).toBe('pid\nt\n');
  });

  it('a new mount empties what the layer held of them; the commit\'s entries and the accounts stay', () => {
    const commitRun = fs.readdirSync(join(mnt, 'run')).filter((n) => !['adduser', 'test.pid', 'user'].includes(n)).sort();
    H(['root', 'umount', 'd']);
    H(['root', 'mount', 'd', mnt]);
    expect(fs.readdirSync(join(mnt, 'run')).sort()).toEqual(commitRun);
    expect(fs.readdirSync(join(mnt, 'tmp'))).toEqual([]);
    expect(fs.statSync(join(mnt, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(inRoot('id -u alice').out.trim()).toBe('1000');
    // adduser's lock is gone with the old mount: it runs again.
    const again = inRoot("adduser --disabled-password --gecos '' bob");
    expect(again, again.out).toMatchObject({ code: 0 });
  });
});
