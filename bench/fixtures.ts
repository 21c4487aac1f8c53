// The trees and images the benchmarks run on, built once and cached in the cache dir. Each is
// built under a temporary name and renamed into place when complete, so an interrupted build is
// never mistaken for a finished one.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, removeTree } from './paths.js';
import { hacktree, have, must, syncDisks } from './run.js';

/**
 * Returns <cache>/NAME, building it first if absent: into NAME.build-PID, then a rename. Stale
 * builds of NAME from dead processes, and older cache entries matching `replaces` (e.g. the repo
 * built for a previous key), are removed first.
 */
async function cached(name: string, build: (into: string) => Promise<void>, replaces?: RegExp): Promise<string> {
  const dir = cacheDir();
  const final = join(dir, name);
  if (existsSync(final)) return final;
  for (const n of readdirSync(dir)) {
    const stale = /\.build-(\d+)$/.exec(n);
    if (stale && n.startsWith(`${name}.build-`) && !existsSync(`/proc/${stale[1]}`)) removeTree(join(dir, n));
    else if (replaces?.test(n) && n !== name && !n.includes('.build-')) removeTree(join(dir, n));
  }
  const tmp = `${final}.build-${process.pid}`;
  try {
    await build(tmp);
    syncDisks();
    renameSync(tmp, final);
  } catch (e) {
    removeTree(tmp);
    throw e;
  }
  return final;
}

/** A short fingerprint of a cached tree: it changes when the tree is rebuilt (new inode, new ctime). */
function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 10);
}
const treeId = (p: string): string => { const s = statSync(p); return `${s.ino}:${s.ctimeMs}`; };

let minbase: Promise<string> | undefined;

/** The debootstrap minbase bookworm root, without device nodes, sockets and fifos (OSTree has no way to store them). */
export function minbaseRoot(log: (l: string) => void): Promise<string> {
  minbase ??= (async () => {
    const root = await cached('minbase', async (into) => {
      if (!have('debootstrap')) throw new Error('debootstrap missing (apt-get install debootstrap)');
      log(`building the test root with debootstrap into ${into} (about 30 s)...`);
      await must('debootstrap', ['--variant=minbase', 'bookworm', into]);
      await must('find', [into, '-xdev', '(', '-type', 'b', '-o', '-type', 'c', '-o', '-type', 's', '-o', '-type', 'p', ')', '-delete']);
    });
    log(`test root: ${root}: ${describe(root)}`);
    return root;
  })();
  return minbase;
}

function describe(root: string): string {
  let entries = 0, files = 0, symlinks = 0, dirs = 0, bytes = 0;
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      const s = lstatSync(p);
      entries++;
      if (s.isFile()) { files++; bytes += s.size; }
      else if (s.isSymbolicLink()) symlinks++;
      else if (s.isDirectory()) { dirs++; walk(p); }
    }
  };
  walk(root);
  return `${entries} entries: ${files} files, ${symlinks} symlinks, ${dirs} directories; ${(bytes / 1e6).toFixed(1)} MB in files`;
}

/** `mksquashfs ROOT img -comp zstd -noappend -quiet`, for squashfuse. */
export function squashImage(root: string): Promise<string> {
  return cached(`minbase-${fingerprint(treeId(root))}.sqfs`, async (into) => {
    if (!have('mksquashfs')) throw new Error('mksquashfs missing (apt-get install squashfs-tools)');
    await must('mksquashfs', [root, into, '-comp', 'zstd', '-noappend', '-quiet']);
  }, /^minbase-.*\.sqfs$/);
}

/**
 * A bare-user hacktree repo with branch `os` (the test root) and branch `usr` (this machine's
 * /usr, ~20× larger). Committing /usr takes minutes, so the repo is kept; its name carries the
 * test root's fingerprint and dpkg's status file's mtime, so it is rebuilt when either changes.
 */
export function mountRepo(root: string, log: (l: string) => void): Promise<string> {
  const dpkg = existsSync('/var/lib/dpkg/status') ? String(statSync('/var/lib/dpkg/status').mtimeMs) : '';
  // The version tag changes when what commit writes besides objects changes (v2: tree stats).
  return cached(`mount-repo-${fingerprint(treeId(root), dpkg, 'v2')}`, async (into) => {
    log(`committing ${root} and /usr into ${into} (once; takes minutes)...`);
    // No fsync per commit: a fixture, synced once before the rename makes it valid.
    await hacktree(['--repo', into, 'init']);
    await hacktree(['--repo', into, '--fsync=false', 'commit', '-b', 'os', root]);
    await hacktree(['--repo', into, '--fsync=false', 'commit', '-b', 'usr', '--skip-special', '/usr']);
  }, /^mount-repo-/);
}

/** The test root as a tarball (~200 MB): what untarring into a root's /var/tmp is measured with. */
export function rootTarball(root: string): Promise<string> {
  return cached(`minbase-${fingerprint(treeId(root))}.tar.d`, async (into) => {
    mkdirSync(into);
    await must('tar', ['cf', join(into, 'root.tar'), '-C', root, '.']);
  }, /^minbase-.*\.tar\.d$/).then((d) => join(d, 'root.tar'));
}

