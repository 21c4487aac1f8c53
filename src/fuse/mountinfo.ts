// Reading the kernel's mount table (/proc/self/mountinfo).
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * `id`: the kernel's mount ID, which stays with a mount when it is moved (mount --move).
 * dev: the file system's major:minor, as /sys/class/bdi names its backing device.
 */
export interface MountEntry { id: number; mountpoint: string; fstype: string; source: string; options: string; dev: string }

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0) continue;
    out.push({ id: Number(f[0]), mountpoint: unescape(f[4]!), options: f[5]!, fstype: f[sep + 1]!, source: unescape(f[sep + 2] ?? ''), dev: f[2]! });
  }
  return out;
}

export function readMountsSync(): MountEntry[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await fs.promises.readFile('/proc/self/mountinfo', 'utf8'));
}

export const HACKTREE_FSTYPE = 'fuse.hacktree';

/**
 * The absolute path `mnt` as the mount table lists a mount on it: its directory's symlinks
 * resolved (a mount made through a symlink is listed at the real path, and a daemon that looked
 * for it by the other name took it for unmounted). The directory itself is not touched: its own
 * daemon must make no synchronous call on its mount.
 */
export function kernelPath(mnt: string): string {
  if (mnt === '/') return mnt;
  try { return join(fs.realpathSync(dirname(mnt)), basename(mnt)); } catch { return mnt; }
}
