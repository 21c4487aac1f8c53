// The writable layer against a disk file system, by random sequences of
// operations (helpers/model-ops.py): each sequence runs in a fresh directory on
// the scratch file system (ext4 or tmpfs: the reference) and in a fresh
// directory of a mounted root's /var, half of them starting from files the
// commit has (so copy-up is in play), some with an unmount and mount in their
// middle; after every step the errno, the times that moved and the whole tree
// must be the same on both sides.
//
// HACKTREE_MODEL_SEQS=N runs N sequences (default: CI_SEQUENCES), HACKTREE_MODEL_SEED=S
// another seed, HACKTREE_MODEL_MAX_OPS=N longer sequences, HACKTREE_MODEL_REPLAY='{"start":...,"ops":[...]}' one sequence as a
// failure printed it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { HACKTREE, requireRoot, requireTool, sh, ROOT } from './helpers/cli.js';
import { forceUnmount, requireFuse } from './helpers/mounts.js';
import { comparisonDirs, mountBusyboxRoot, requireDiskReference } from './helpers/busybox-root.js';

/** Enough to meet every op on every kind of start in a few minutes of CI. */
const CI_SEQUENCES = 2000;
const SEQUENCES = Number(process.env.HACKTREE_MODEL_SEQS ?? CI_SEQUENCES);
const SEED = Number(process.env.HACKTREE_MODEL_SEED ?? 13);
const REPLAY = process.env.HACKTREE_MODEL_REPLAY;
/** Ops per sequence at most (HACKTREE_MODEL_MAX_OPS for longer ones). */
const MAX_OPS = Number(process.env.HACKTREE_MODEL_MAX_OPS ?? 12);
/** Directories of the commit that sequences start from (one each, never reused: the layer keeps what a sequence did). */
const TEMPLATES = REPLAY ? ((JSON.parse(REPLAY) as { template?: number }).template ?? 0) + 1 : Math.min(1500, Math.ceil(SEQUENCES / 2) + 100);
/** About one sequence in this many unmounts and mounts the root in its middle. */
const REMOUNT_EVERY = 150;

const { s, bb, sys, mnt, ref } = comparisonDirs('hacktree-model-');
const PY = '/usr/bin/python3';
const RUNNER = join(ROOT, 'test', 'helpers', 'model-ops.py');

/**
 * A difference the layer still has: after `op` ('*': any) with these arguments (by position),
 * the observation `what` differs (for 'times' and 'tree', per path; with `ref` and `mnt`, only
 * where the disk and the mount show those values).
 */
interface KnownEntry { id: string; op: string; args?: Record<string, unknown>; what: 'result' | 'times' | 'tree'; ref?: string; mnt?: string; why: string }

/**
 * Differences the layer still has, as in posix-vs-ext4.test.ts's KNOWN. Each is counted; one
 * that never differs any more (while its op ran) fails the test, so the list stays true.
 */
const KNOWN: KnownEntry[] = [
  { id: 'chown -1 -1', op: 'chown', args: { 2: -1, 3: -1 }, what: 'times', why: "posix-vs-ext4 KNOWN ctime 'chown -1 -1': the kernel sends FUSE no setattr for it" },
  { id: 'rename of a base directory', op: 'rename', what: 'result', mnt: 'EXDEV', why: "a directory the commit has is not copied up whole to be renamed (dirRenameRefusal): EXDEV, as overlayfs without redirect_dir; mv copies instead. The sequence ends there: the trees went different ways" },
  { id: 'copy-up: ctime of the directory', op: '*', what: 'times', ref: 'same', mnt: 'c', why: "a copy-up renames its copy into the directory in upper/ (or makes it there): its mtime is put back, as overlayfs does, but its ctime moves, as on overlayfs" },
  { id: 'copy-up is a new inode', op: '*', what: 'times', mnt: 'new inode', why: "a commit's entry gets the number of its file in upper/ once copied up (copy-up.ts): st_ino of the path changes, so its times are not compared across that op" },
];

interface Summary { sequences: number; steps: number; remounts: number; templated: number; diverged: number; clock: Record<string, number>; seconds: number; excused: Record<string, number>; agreed: Record<string, number>; failures: number }

function runModel(args: string[]): Promise<{ summary: Summary; failures: unknown[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PY, [RUNNER, ...args, '--ref', ref, '--mnt', join(mnt, 'var', 'lib', 'model'), '--known', JSON.stringify(KNOWN),
      '--remount', `${HACKTREE} --sysroot ${sys} root umount r && ${HACKTREE} --sysroot ${sys} root mount r ${mnt}`,
      '--remount-every', String(REMOUNT_EVERY), '--templates', `x:${TEMPLATES}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => { err += d; process.stderr.write(d); });
    p.on('error', reject);
    p.on('close', (code) => {
      const lines = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const summary = lines.at(-1) as unknown as Summary | undefined;
      if (code !== 0 || !summary || summary.sequences === undefined) { reject(new Error(`model-ops.py exited ${code}: ${err}`)); return; }
      resolve({ summary, failures: lines.filter((l) => l.failure).map((l) => l.failure), stderr: err });
    });
  });
}

beforeAll(async () => {
  requireRoot('mounts with allow_other and chowns');
  requireFuse();
  requireTool('busybox', 'busybox-static');
  requireTool(PY, 'python3');
  requireDiskReference(s.dir);
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bb]);
  const model = join(bb, 'var', 'lib', 'model');
  fs.mkdirSync(model, { recursive: true });
  const mk = spawn(PY, ['-c', `import importlib.util as u, sys
s = u.spec_from_file_location('m', ${JSON.stringify(RUNNER)}); m = u.module_from_spec(s); s.loader.exec_module(m)
for j in range(${TEMPLATES}): m.make_template(f'${model}/t{j}', j)`], { stdio: 'inherit' });
  await new Promise<void>((res, rej) => mk.on('close', (c) => (c === 0 ? res() : rej(new Error(`making templates exited ${c}`)))));
  fs.mkdirSync(ref);
  mountBusyboxRoot(bb, sys, mnt);
});

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe('the writable layer against ext4, by random sequences of operations', () => {
  it(REPLAY ? 'replays one sequence' : `${SEQUENCES} sequences (seed ${SEED}) agree step by step`, async () => {
    const r = REPLAY
      ? await runModel(['replay', '--sequence', REPLAY])
      : await runModel(['run', '--seed', String(SEED), '--count', String(SEQUENCES), '--max-ops', String(MAX_OPS)]);
    const { summary } = r;
    console.log(`model-layer: ${summary.sequences} sequences, ${summary.steps} steps, ${summary.remounts} remounts, ${summary.templated} from the commit's files (${summary.diverged} ended by a known difference), ${summary.seconds} s (seed ${SEED}; seconds in ${JSON.stringify(summary.clock)}); known differences excused: ${JSON.stringify(summary.excused)}`);
    for (const f of r.failures) {
      const { sequence, failure, ...where } = f as { sequence: unknown; failure: unknown };
      console.log(`model-layer failure ${JSON.stringify(where)}: ${JSON.stringify(failure)}\n  replay: HACKTREE_MODEL_REPLAY='${JSON.stringify(sequence)}'`);
    }
    expect(r.failures.length, 'sequences that differ (printed above)').toBe(0);
    if (!REPLAY) {
      for (const k of KNOWN) {
        expect(summary.excused[k.id] === 0 && summary.agreed[k.id]! > 0, `known difference '${k.id}' agrees with ext4 now: take it off KNOWN`).toBe(false);
      }
    }
  }, 3 * 3600_000);
});
