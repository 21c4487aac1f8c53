// A real Debian root (debootstrap --variant=minbase --include=adduser[,EXTRA...] bookworm),
// built once per package list and cached between runs (each list is a directory of its
// own, so the plain root stays cached for the tests that need only it). Fails loudly when
// it cannot be built.
// debootstrap takes a minute or more on a busy machine: it runs without blocking
// the test worker, whose event loop must keep answering vitest meanwhile.
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, requireTool } from './cli.js';

export function testCacheDir(): string {
  const d = process.env.HACKTREE_TEST_CACHE ?? join(ROOT, '.test-cache');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('error', (e) => resolve({ code: null, output: String(e) }));
    p.on('close', (code) => resolve({ code, output }));
  });
}

export async function debianRoot(extra: readonly string[] = []): Promise<string> {
  const include = ['adduser', ...extra];
  const dir = join(testCacheDir(), `bookworm-minbase-${include.join('+')}`);
  if (fs.existsSync(join(dir, 'etc', 'debian_version'))) return dir;
  requireTool('debootstrap', 'debootstrap');
  const tmp = `${dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = await run('debootstrap', ['--variant=minbase', `--include=${include.join(',')}`, 'bookworm', tmp]);
  if (r.code !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`could not build the Debian test root with debootstrap (exit ${r.code}): ${r.output.trim().split('\n').slice(-3).join(' | ')}`);
  }
  // OSTree stores no device nodes: a booted root gets /dev from devtmpfs.
  spawnSync('find', [join(tmp, 'dev'), '-mindepth', '1', '(', '-type', 'b', '-o', '-type', 'c', '-o', '-type', 'p', '-o', '-type', 's', ')', '-delete']);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}
