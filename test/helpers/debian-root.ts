// A real Debian root (debootstrap --variant=minbase --include=adduser bookworm),
// built once and cached between runs. Fails loudly when it cannot be built.
import fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, requireTool } from './cli.js';

export function testCacheDir(): string {
  const d = process.env.HACKTREE_TEST_CACHE ?? join(ROOT, '.test-cache');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

export function debianRoot(): string {
  const dir = join(testCacheDir(), 'bookworm-minbase-adduser');
  if (fs.existsSync(join(dir, 'etc', 'debian_version'))) return dir;
  requireTool('debootstrap', 'debootstrap');
  const tmp = `${dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('debootstrap', ['--variant=minbase', '--include=adduser', 'bookworm', tmp], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`could not build the Debian test root with debootstrap (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`);
  }
  // OSTree stores no device nodes: a booted root gets /dev from devtmpfs.
  spawnSync('find', [join(tmp, 'dev'), '-mindepth', '1', '(', '-type', 'b', '-o', '-type', 'c', '-o', '-type', 'p', '-o', '-type', 's', ')', '-delete']);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}
