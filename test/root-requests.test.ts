// What an untar-like run of writes costs a root's mount in requests, from the counts the daemon
// logs as it stops: no FLUSH at close (the addon's flush has nothing to do), and no trip to JS
// for the security.capability the kernel asks of every file and symlink it chowns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { requireRoot, requireTool, sh, ROOT } from './helpers/cli.js';
import { forceUnmount, requireFuse, stopCounts } from './helpers/mounts.js';
import { comparisonDirs, mountBusyboxRoot } from './helpers/busybox-root.js';
import { logPath } from '../src/mount.js';

const { s, bb, sys, mnt } = comparisonDirs('hacktree-root-requests-');
const FILES = 20;

beforeAll(() => {
  requireRoot('mounts a root and chowns in it');
  requireFuse();
  requireTool('busybox', 'busybox-static');
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
  fs.mkdirSync(join(bb, 'var', 'tmp'), { recursive: true });
  fs.rmSync(logPath(mnt), { force: true });
  mountBusyboxRoot(bb, sys, mnt);
});

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe("a root's writes", () => {
  it('close without FLUSH, and chown files and symlinks without asking JS for security.capability', () => {
    const d = join(mnt, 'var', 'tmp', 'w');
    // As tar extracts: each file written in several write()s, then chowned and chmodded; each symlink chowned.
    sh('sh', ['-c', `mkdir ${d} && cd ${d} && for i in $(seq ${FILES}); do
      dd if=/dev/zero of=f$i bs=4096 count=3 status=none && chown 1:1 f$i && chmod 640 f$i &&
      ln -s f$i l$i && chown -h 2:2 l$i; done`]);
    for (let i = 1; i <= FILES; i++) {
      expect(fs.lstatSync(join(d, `f${i}`))).toMatchObject({ size: 12288, uid: 1, gid: 1, mode: 0o100640 });
      expect(fs.lstatSync(join(d, `l${i}`))).toMatchObject({ uid: 2, gid: 2 });
    }
    forceUnmount(mnt);
    const { js, kernel } = stopCounts(mnt);
    // The writes themselves pass through to the layer's files (native/ll/passthrough.c).
    expect(kernel.write ?? 0).toBe(0);
    expect(kernel.release).toBeGreaterThanOrEqual(FILES);
    expect(kernel.flush ?? 0).toBe(0);
    expect(kernel.getxattr).toBeGreaterThanOrEqual(2 * FILES);
    // A symlink's question goes to JS on main (one per symlink); here only when its fact was not
    // kept because another node's facts were dropped while JS answered (facts.c's generation).
    expect(js.getxattr ?? 0).toBeLessThanOrEqual(2);
  });
});
