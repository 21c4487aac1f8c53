// Mounting in tests: the daemon is always a child process (hacktree mount), and
// every mount is taken down again, also when the test fails.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { htOk } from './cli.js';

const live = new Set<string>();

export function requireFuse(): void {
  if (!fs.existsSync('/dev/fuse')) throw new Error('this test mounts FUSE file systems: /dev/fuse is missing');
  const r = spawnSync('sh', ['-c', 'command -v fusermount || command -v fusermount3']);
  if (r.status !== 0) throw new Error('this test needs fusermount (Debian package fuse3); .ci/run installs it');
}

export function mountRev(repo: string, rev: string, mnt: string, opts: string[] = []): void {
  fs.mkdirSync(mnt, { recursive: true });
  htOk(['--repo', repo, 'mount', ...opts.flatMap((o) => ['-o', o]), rev, mnt]);
  live.add(mnt);
}

export function isMounted(mnt: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === mnt);
}

/** Unmounts whatever way works; never throws. */
export function forceUnmount(mnt: string): void {
  if (!isMounted(mnt)) { live.delete(mnt); return; }
  const r = spawnSync('bin/hacktree', ['umount', mnt], { cwd: new URL('../..', import.meta.url).pathname, stdio: 'ignore' });
  if (r.status !== 0 || isMounted(mnt)) spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
  live.delete(mnt);
}

export function unmountAll(): void {
  for (const m of [...live]) forceUnmount(m);
}
