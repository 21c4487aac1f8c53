// Serves a backend at a mountpoint on the low-level addon (native/ll): a commit read-only,
// answered in C once told (ll/serve-frozen.ts); a root with one node per file, the kernel
// caching what the commit gives and told at once of what changes beneath it (ll/serve-root.ts).
import type { Backend } from './backend.js';
import type { FuseMount, OpCounts } from './types.js';
import { serveFrozen } from './ll/serve-frozen.js';
import type { RootMount } from './ll/serve-root.js';

export interface ServeOptions {
  fsname: string;
  readOnly: boolean;
  /** allow_other + suid + dev: what a root file system mounted by root needs for chroot and setuid programs. */
  asRoot: boolean;
  extra: string[];
  log: (msg: string) => void;
  /** Filled with per-op call counts when given. */
  counts?: OpCounts;
  /** A root's mount is a booted system's / (mount -o boot): see ll/serve-root.ts bootTimes. */
  bootRoot?: boolean;
}

/** A root's core (its node table, the layer's ops) is loaded only for a root: a commit's mount waits for what it loads. */
export async function serve(backend: Backend, mountpoint: string, o: ServeOptions): Promise<FuseMount & Partial<Pick<RootMount, 'reload'>>> {
  return o.readOnly ? serveFrozen(backend, mountpoint, o) : (await import('./ll/serve-root.js')).serveRoot(backend, mountpoint, o);
}
