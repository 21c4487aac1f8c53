// The one place that decides how writes become durable.
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function tempNameBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes to a temp file beside `path`, fsyncs it when durable, renames over `path`, fsyncs the directory. */
export function atomicWriteFileSync(path: string, data: string | Buffer, durable: boolean, mode = 0o644): void {
  const tmp = tempNameBeside(path);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (durable) fsyncDirSync(dirname(path));
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/**
 * Flushes the whole file system holding `path` (syncfs(2), via coreutils
 * `sync -f`): one call instead of an fsync per object, as ostree does.
 */
export function syncFileSystem(path: string): void {
  const r = spawnSync('sync', ['-f', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`sync -f ${path} failed: ${r.stderr?.toString().trim() || r.error?.message}`);
}

/** syncFileSystem, without blocking this thread while the disk catches up. */
export function syncFileSystemAsync(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sync', ['-f', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`sync -f ${path} failed: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`sync -f ${path} failed: ${Buffer.concat(err).toString().trim() || `exit ${code}`}`));
    });
  });
}
