// The kernel reads a FUSE mount's files ahead by its own device's window, 128 KiB unless told
// otherwise: a cold tar of the test root then sends ~7,800 READ requests for its 5,329 files
// (213 files over 128 KiB hold 146 of its 203 MB), each a trip through the daemon. The mount's
// requests may be 1 MiB (native/ll LL_MAX_REQUEST), and so is its window here: the window
// grows only as a file is read in order, so a small read still reads little. Only root may
// set it (sysfs); otherwise the kernel's default stays.
import fs from 'node:fs';
import { readMounts } from '../mountinfo.js';

const WINDOW_KB = 1024;

export async function widenReadahead(mnt: string, log: (msg: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const entry = (await readMounts()).reverse().find((m) => m.mountpoint === mnt);
  if (!entry) return;
  try {
    await fs.promises.writeFile(`/sys/class/bdi/${entry.dev}/read_ahead_kb`, `${WINDOW_KB}\n`);
  } catch (e) {
    log(`kernel readahead of ${mnt} left at its default: ${(e as Error).message}`);
  }
}
