// A read-write stress run on a root's writable layer: several processes at once,
// each doing random operations (helpers/model-ops.py stress) on its own directory
// of the mount, starting from files of the commit, and the same operations on a
// directory on disk (its expected state); a reader walks and reads the whole tree
// meanwhile. Every errno must agree; then the root is unmounted and mounted again
// (a fresh daemon reads the layer from disk) and each directory must equal its
// expected state, and the layer must hold nothing half-done.
//
// HACKTREE_STRESS_SECONDS=S runs longer (default: CI_SECONDS), HACKTREE_STRESS_WORKERS=N
// with more processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { htOk, requireRoot, requireTool, sh, ROOT } from './helpers/cli.js';
import { forceUnmount, requireFuse } from './helpers/mounts.js';
import { comparisonDirs, mountBusyboxRoot, requireDiskReference } from './helpers/busybox-root.js';

const CI_SECONDS = 20;
const SECONDS = Number(process.env.HACKTREE_STRESS_SECONDS ?? CI_SECONDS);
const WORKERS = Number(process.env.HACKTREE_STRESS_WORKERS ?? 6);

const { s, bb, sys, mnt, ref } = comparisonDirs('hacktree-stress-');
const PY = '/usr/bin/python3';
const RUNNER = join(ROOT, 'test', 'helpers', 'model-ops.py');
const H = (args: string[]): string => htOk(['--sysroot', sys, ...args]);
const inMount = (k: number): string => join(mnt, 'var', 'lib', 'stress', `w${k}`);

/** What worker k starts from, in the commit and on disk alike: files and a directory of the commit (copy-ups and whiteouts). */
function startTree(d: string, k: number): void {
  fs.mkdirSync(join(d, 'D0'), { recursive: true });
  const put = (p: string, content: string): void => {
    fs.writeFileSync(p, content, { mode: 0o644 });
    fs.chmodSync(p, 0o644);
    fs.utimesSync(p, 0, 0); // a commit's files have no times
  };
  for (let i = 0; i < 10; i++) put(join(d, `f${i}`), `base ${k} f${i}\n`.repeat(i + 1));
  for (let i = 0; i < 5; i++) put(join(d, 'D0', `f${i}`), `base ${k} D0/f${i}\n`.repeat(i + 1));
}

function py(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(PY, [RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`model-ops.py ${args[0]} exited ${code}: ${err}`)); return; }
      resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
}

/** Names anywhere below `dir` (paths relative to it). */
function walk(dir: string, rel = ''): string[] {
  return fs.readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? [r, ...walk(dir, r)] : [r];
  });
}

beforeAll(() => {
  requireRoot('mounts with allow_other and chowns');
  requireFuse();
  requireTool('busybox', 'busybox-static');
  requireTool(PY, 'python3');
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
  for (let k = 0; k < WORKERS; k++) {
    startTree(join(bb, 'var', 'lib', 'stress', `w${k}`), k);
    startTree(join(ref, `w${k}`), k);
  }
  requireDiskReference(s.dir);
  mountBusyboxRoot(bb, sys, mnt);
});

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe('the writable layer under a read-write stress run', () => {
  it(`${WORKERS} writers and a reader for ${SECONDS} s: every errno as on disk, and after a remount every file as on disk`, async () => {
    const runs = [...Array(WORKERS).keys()].map((k) => py(['stress', '--seed', String(k), '--seconds', String(SECONDS), '--ref', join(ref, `w${k}`), '--mnt', inMount(k)]));
    const reading = py(['reader', '--seconds', String(SECONDS), '--mnt', join(mnt, 'var', 'lib', 'stress')]);
    const results = await Promise.all(runs) as Array<{ ops: number; exdev: number; mismatches: unknown[] }>;
    const read = await reading as { walks: number; errors: string[] };
    expect(results.flatMap((r) => r.mismatches)).toEqual([]);
    expect(read.errors).toEqual([]);

    H(['root', 'umount', 'r']);
    H(['root', 'mount', 'r', mnt]);
    for (let k = 0; k < WORKERS; k++) {
      const c = await py(['compare', '--ref', join(ref, `w${k}`), '--mnt', inMount(k)]);
      expect(c.differences, `worker ${k}`).toEqual({});
    }
    // The layer holds no half-made copy and no hidden file of an unlinked open one.
    const upper = join(sys, 'roots', 'r', 'layer', 'upper');
    expect(walk(upper).filter((p) => /(^|\/)\.(hacktree-|fuse_hidden)/.test(p))).toEqual([]);
    const diff = JSON.parse(H(['layer', 'diff', '--json', 'r'])) as Array<{ path: string }>;
    const entries = [...Array(WORKERS).keys()].reduce((n, k) => n + walk(join(ref, `w${k}`)).length, 0);
    console.log(`stress: ${WORKERS} writers, ${results.reduce((n, r) => n + r.ops, 0)} ops (${results.reduce((n, r) => n + r.exdev, 0)} renames of a commit's directory refused with EXDEV), ${read.walks} walks of the tree, ${SECONDS} s; ${entries} entries at the end, ${diff.length} paths in layer diff`);
    expect(diff.length).toBeGreaterThan(0);
  }, 3600_000);
});
