// Turns a Backend into the binding's path-based ops. Whatever the backend does
// not implement of the writing calls fails with EROFS: a read-only commit view
// refuses every change, a writable layer overrides what it supports.
import { FuseError, type DirListing, type FuseOps } from './binding.js';
import type { Backend } from './backend.js';

const erofs = (): never => { throw new FuseError('EROFS'); };
const ebadf = (): never => { throw new FuseError('EBADF'); };

/** How many times the kernel called each op: what the round trips to JS cost is counted here. */
export type OpCounts = Record<string, number>;

export function toFuseOps(b: Backend, counts?: OpCounts): FuseOps {
  const ops = rawOps(b);
  if (!counts) return ops;
  const counted = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(ops)) {
    counts[name] = 0;
    counted[name] = (...args: unknown[]) => { counts[name]!++; return (fn as (...a: unknown[]) => unknown)(...args); };
  }
  return counted as unknown as FuseOps;
}

/** A listing as a disk file system gives it: "." and ".." first (`ls -a` shows them). */
async function withDots(b: Backend, path: string): Promise<DirListing> {
  const slash = path.lastIndexOf('/');
  const [listing, self, parent] = await Promise.all([b.readdir(path), b.getattr(path), b.getattr(slash <= 0 ? '/' : path.slice(0, slash))]);
  return { names: ['.', '..', ...listing.names], ...(listing.stats ? { stats: [self, parent, ...listing.stats] } : {}) };
}

function rawOps(b: Backend): FuseOps {
  return {
    getattr: (path) => b.getattr(path),
    fgetattr: (path, fh) => (b.fgetattr ? b.fgetattr(path, fh) : path === null ? ebadf() : b.getattr(path)),
    readdir: (path) => withDots(b, path),
    readlink: (path) => b.readlink(path),
    read: (path, fh, buf, length, position) => b.read(path, fh, buf, length, position),
    ...(b.open ? { open: b.open.bind(b) } : {}),
    ...(b.release ? { release: b.release.bind(b) } : {}),
    getxattr: (path, name) => b.getxattr(path, name),
    listxattr: (path) => b.listxattr(path),
    statfs: () => b.statfs(),
    write: (_path, fh, buf, length, position) => (b.write ? b.write(fh, buf, length, position) : erofs()),
    create: (path, mode, ctx) => (b.create ? b.create(path, mode, ctx) : erofs()),
    truncate: (path, size, ctx) => (b.truncate ? b.truncate(path, size, ctx) : erofs()),
    ftruncate: (_path, fh, size) => (b.ftruncate ? b.ftruncate(fh, size) : erofs()),
    unlink: (path, ctx) => (b.unlink ? b.unlink(path, ctx) : erofs()),
    rename: (from, to, ctx) => (b.rename ? b.rename(from, to, ctx) : erofs()),
    mkdir: (path, mode, ctx) => (b.mkdir ? b.mkdir(path, mode, ctx) : erofs()),
    rmdir: (path, ctx) => (b.rmdir ? b.rmdir(path, ctx) : erofs()),
    symlink: (target, path, ctx) => (b.symlink ? b.symlink(target, path, ctx) : erofs()),
    link: (existing, path, ctx) => (b.link ? b.link(existing, path, ctx) : erofs()),
    chmod: (path, mode, ctx) => (b.chmod ? b.chmod(path, mode, ctx) : erofs()),
    chown: (path, uid, gid, ctx) => (b.chown ? b.chown(path, uid, gid, ctx) : erofs()),
    utimens: (path, atime, mtime, ctx) => (b.utimens ? b.utimens(path, atime, mtime, ctx) : erofs()),
    setxattr: (path, name, value, flags, ctx) => (b.setxattr ? b.setxattr(path, name, value, flags, ctx) : erofs()),
    removexattr: (path, name, ctx) => (b.removexattr ? b.removexattr(path, name, ctx) : erofs()),
    mknod: (path, mode, rdev, ctx) => (b.mknod ? b.mknod(path, mode, rdev, ctx) : erofs()),
    // No flush: left unset, the kernel stops sending it after the first ENOSYS.
    ...(b.fsync ? { fsync: (_path: string, fh: number, datasync: boolean) => b.fsync!(fh, datasync) } : {}),
  };
}
