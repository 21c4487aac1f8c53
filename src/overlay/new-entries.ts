// New entries in upper/, owned as a disk file system would own them: by the
// calling uid and gid, or the parent's group when the parent is setgid (and a
// new directory inherits the setgid bit). The daemon makes every entry as
// itself, so it sets the owner; the kernel has already checked permissions
// (default_permissions) and applied the caller's umask to `mode`.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { S_IFMT } from '../store/objects/types.js';
import { LayerError } from './errors.js';

const run = promisify(execFile);
const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL } = fs.constants;

export interface Caller { uid: number; gid: number }

export interface NewOwner {
  uid: number;
  gid: number;
  /** The parent directory is setgid. */
  sgid: boolean;
  /** Not the daemon's own ids: the new entry needs a chown. */
  differs: boolean;
}

export function ownerOfNew(parent: { mode: number; gid: number }, caller: Caller, daemon = { uid: process.getuid?.(), gid: process.getgid?.() }): NewOwner {
  const sgid = (parent.mode & 0o2000) !== 0;
  const uid = caller.uid, gid = sgid ? parent.gid : caller.gid;
  return { uid, gid, sgid, differs: uid !== daemon.uid || gid !== daemon.gid };
}

/** Creates and opens a regular file for reading and writing; returns the fd. */
export function makeFile(p: string, mode: number, o: NewOwner): number {
  const fd = fs.openSync(p, O_CREAT | O_EXCL | O_RDWR, mode & 0o7777);
  try {
    if (o.differs) {
      fs.fchownSync(fd, o.uid, o.gid);
      // chown(2) clears setuid/setgid: give them back.
      if (mode & 0o6000) fs.fchmodSync(fd, mode & 0o7777);
    }
  } catch (x) {
    fs.closeSync(fd);
    fs.rmSync(p, { force: true });
    throw x;
  }
  return fd;
}

export function makeDir(p: string, mode: number, o: NewOwner): void {
  const m = (mode & 0o7777) | (o.sgid ? 0o2000 : 0);
  fs.mkdirSync(p, { mode: m });
  // mkdir(2) drops setuid/setgid from its mode (chown may too): set them explicitly.
  if (o.differs) fs.chownSync(p, o.uid, o.gid);
  if (o.differs || (m & 0o7000)) fs.chmodSync(p, m);
}

export function makeSymlink(target: string, p: string, o: NewOwner): void {
  fs.symlinkSync(target, p);
  if (o.differs) fs.lchownSync(p, o.uid, o.gid);
}

/** A fifo, a device node or an empty regular file. `rdev` is the kernel's encoding of the device number. */
export async function makeNode(p: string, mode: number, rdev: number, o: NewOwner): Promise<void> {
  const type = mode & S_IFMT;
  // node:fs has no mknod: coreutils' does it (off the event loop).
  if (type === fs.constants.S_IFIFO) await run('mknod', ['-m', (mode & 0o7777).toString(8), p, 'p']);
  else if (type === fs.constants.S_IFCHR || type === fs.constants.S_IFBLK) {
    const major = Math.floor(rdev / 256) & 0xfff, minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
    await run('mknod', ['-m', (mode & 0o7777).toString(8), p, type === fs.constants.S_IFCHR ? 'c' : 'b', String(major), String(minor)]);
  } else if (type === fs.constants.S_IFSOCK) {
    await makeSocket(p, mode);
  } else if (type === fs.constants.S_IFREG || type === 0) {
    fs.closeSync(fs.openSync(p, O_CREAT | O_EXCL | O_WRONLY, mode & 0o7777));
  } else throw LayerError.of('EPERM');
  if (o.differs) fs.lchownSync(p, o.uid, o.gid);
}

let nextSocket = 1;

/**
 * A socket inode, as bind() leaves one (the kernel's bind() on the mount asks for it
 * by mknod; the socket itself lives in the kernel, at the mount's inode). node:fs cannot
 * mknod one, so a listening socket is bound and closed, which leaves its inode behind.
 * It is bound under a short temporary name (sun_path holds 108 bytes, a layer's paths
 * may be longer), through /proc/self/fd, and renamed into place.
 */
async function makeSocket(p: string, mode: number): Promise<void> {
  const dir = fs.openSync(dirname(p), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const tmpName = `.hacktree-sock-${process.pid}-${nextSocket++}`;
  const server = net.createServer();
  try {
    await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(`/proc/self/fd/${dir}/${tmpName}`, res); });
    // `p` is free (the caller checked): nothing is renamed over.
    fs.renameSync(`${dirname(p)}/${tmpName}`, p);
    fs.chmodSync(p, mode & 0o7777);
  } catch (x) {
    fs.rmSync(`${dirname(p)}/${tmpName}`, { force: true });
    throw x;
  } finally {
    // Closing a listening socket unlinks its bound name, by then gone: `p` stays.
    await new Promise<void>((res) => server.close(() => res()));
    fs.closeSync(dir);
  }
}
