// A commit's size as statfs reports it: the index's record (commit writes one; sizes.ts records
// whatever it measures), else measured once by a short-lived child process (measure-main.ts),
// which records it for every later mount. The daemon only ever reads one row.
import { execFile } from 'node:child_process';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { recordedSize, type Size } from '../store/ops/sizes.js';
import { distPath } from '../dist-paths.js';

const MEASURE = distPath('store/ops/measure-main.js');

/** The tree's size, or null where it cannot be measured (told to `log`). */
export async function commitSize(repo: Repo, tree: Checksum, log: (msg: string) => void): Promise<Size | null> {
  const recorded = recordedSize(repo, tree);
  if (recorded) return recorded;
  const t0 = Date.now();
  try {
    const out = await new Promise<string>((res, rej) => {
      execFile(process.execPath, [MEASURE, repo.path, tree], { encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) rej(new Error(stderr.trim().split('\n').pop() || err.message));
        else res(stdout);
      });
    });
    const size = JSON.parse(out) as Size;
    log(`measured the size of tree ${tree} in a child process (${Date.now() - t0} ms): ${size.bytes} bytes in ${size.files} files`);
    return size;
  } catch (e) {
    log(`could not measure the size of tree ${tree}: ${(e as Error).message}; statfs reports no blocks`);
    return null;
  }
}
