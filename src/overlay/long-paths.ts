// Paths in upper/ past PATH_MAX. The kernel hands the daemon one name at a time, so a tree
// in the mount can go deeper than any path a syscall takes (4096 bytes), as on ext4 through
// openat; but the layer names its files by whole paths (node:fs). Such a path is reached
// through symlinks in work/long/: each stands for a prefix of it short enough to be a
// symlink's target, the next one's target going through the one before. A symlink is
// resolved by path every time, so renames and removals above it need no care.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/** Longest path handed out: room left for a name a caller appends (255 bytes) and a temporary suffix. */
const LIMIT = 3800;

export class LongPaths {
  private readonly dir: string;
  private readonly made = new Set<string>();

  constructor(workDir: string) { this.dir = resolve(workDir, 'long'); }

  /** `full` (absolute), or a path of at most LIMIT bytes that leads to the same place. */
  reach(full: string): string {
    if (full.length <= LIMIT / 3 || Buffer.byteLength(full) <= LIMIT) return full;
    let rest = Buffer.from(full);
    for (;;) {
      // Never the whole path: the last name stays a real name, so lstat and unlink see it.
      const cut = rest.lastIndexOf(0x2f, LIMIT);
      if (cut <= 0) return full; // cannot happen with names of at most 255 bytes; let the call say ENAMETOOLONG
      const link = this.linkTo(rest.subarray(0, cut).toString());
      rest = Buffer.concat([Buffer.from(link), rest.subarray(cut)]);
      if (rest.length <= LIMIT) return rest.toString();
    }
  }

  private linkTo(target: string): string {
    const link = join(this.dir, createHash('sha1').update(target).digest('hex'));
    if (this.made.has(link)) return link;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Named by its target: one made meanwhile (another process on this layer) is the same link.
    try { fs.symlinkSync(target, link); } catch (x) { if ((x as NodeJS.ErrnoException).code !== 'EEXIST') throw x; }
    this.made.add(link);
    return link;
  }
}

/**
 * Removes `p` and everything below it. node's recursive rm names each entry by its whole path
 * and fails past PATH_MAX; rm(1) works down by directory descriptors.
 */
export function removeTree(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch (x) {
    if ((x as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw x;
    const r = spawnSync('rm', ['-rf', '--', p], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rm -rf ${p}: ${r.stderr.trim() || r.error?.message}`);
  }
}
