// Serves a backend at a mountpoint with the options a root file system needs.
import { mount, type FuseMount, type MountOptions } from './binding.js';
import { toFuseOps, type OpCounts } from './adapter.js';
import type { Backend } from './backend.js';
import { S_IFLNK, S_IFMT } from '../store/objects/types.js';
import { serveFrozen } from './ll/serve-frozen.js';

/** Content never changes under a commit, so the kernel may keep what it learns for a day. */
const FOREVER = 86400;
/** Native attribute cache entries of a read-only mount (at most ~250 bytes each). */
const ATTR_CACHE_ENTRIES = 200_000;

export interface ServeOptions {
  fsname: string;
  readOnly: boolean;
  /** allow_other + suid + dev: what a root file system mounted by root needs for chroot and setuid programs. */
  asRoot: boolean;
  extra: string[];
  log: (msg: string) => void;
  /** Filled with per-op call counts when given. */
  counts?: OpCounts;
  /** A booted system's / (mount -o boot): see MountOptions.bootRoot. */
  bootRoot?: boolean;
}

export function serve(backend: Backend, mountpoint: string, o: ServeOptions): Promise<FuseMount> {
  // A commit is served by the low-level core (native/ll): what it has been told once, it answers itself.
  if (o.readOnly) return serveFrozen(backend, mountpoint, o);
  const opts: MountOptions = {
    fsname: o.fsname,
    subtype: 'hacktree',
    readOnly: o.readOnly,
    defaultPermissions: true,
    allowOther: o.asRoot,
    suid: o.asRoot,
    dev: o.asRoot,
    useIno: true,
    kernelCache: o.readOnly,
    entryTimeout: o.readOnly ? FOREVER : 1,
    // Writable: no attribute caching in the kernel. libfuse's path API gives each name of
    // a hard link its own node id, so the kernel cannot see that link() or unlink() through
    // one name changed the link count of the other (shadow-utils' lock needs stat(X.<pid>)
    // to show nlink 2 right after link(X.<pid>, X.lock)), and it cannot be told of changes.
    attrTimeout: o.readOnly ? FOREVER : 0,
    // A booted system's /: what PID 1 looked up and did not find stays known (see bootRoot).
    negativeTimeout: o.readOnly || o.bootRoot ? FOREVER : 0,
    // The binding answers getattr/readlink/readdir of what JS has already answered without a
    // round trip into JS. A commit never changes; a writable mount keeps the cache coherent
    // (cache-coherence.ts), with the backend reporting what changes besides an op's paths.
    attrCache: ATTR_CACHE_ENTRIES,
    // A commit never changes: the kernel opens files and directories by itself, keeps
    // listings and symlink targets, and gets attributes with each listing.
    frozen: o.readOnly,
    ...(o.readOnly ? {} : { changes: backend, directHandles: true, kernelDirAttrs: true, bootRoot: o.bootRoot ?? false }),
    options: o.extra,
    onError: (op, err) => o.log(`${op} failed: ${err instanceof Error ? err.message : String(err)}`),
  };
  const ops = toFuseOps(backend, o.counts);
  let mounted: FuseMount | undefined;
  {
    // Publish each target JS resolves: the next readlink of it stays in C. (On a root's
    // mount the binding keeps only the targets of the commit's own symlinks: see cacheLink.)
    const readlink = ops.readlink!;
    ops.readlink = async (path, ctx) => {
      const target = await readlink(path, ctx);
      mounted?.cacheLink(path, target);
      return target;
    };
    // A listing resolved its symlinks already: publish their targets with it, so
    // a walk that reads links (tar, cp -a, find -printf %l) asks JS for none. On a
    // root's mount, once the binding holds the listing's attributes (it keeps a
    // target only for a symlink its cache knows as the commit's).
    const readdir = ops.readdir!;
    ops.readdir = async (path, ctx) => {
      const listing = await readdir(path, ctx);
      const base = path === '/' ? '' : path;
      const links: Array<[string, string]> = [];
      for (const [i, st] of (listing.stats ?? []).entries()) {
        if ((st.mode & S_IFMT) !== S_IFLNK) continue;
        const child = `${base}/${listing.names[i]}`;
        const target = await backend.readlink(child).catch(() => null);
        if (target !== null) links.push([child, target]);
      }
      const publish = (): void => { for (const [child, target] of links) mounted?.cacheLink(child, target); };
      if (o.readOnly) publish();
      else if (links.length > 0) setImmediate(publish);
      return listing;
    };
  }
  return mount(mountpoint, ops, opts).then((m) => (mounted = m));
}
