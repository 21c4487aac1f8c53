// Metadata-only changes. chmod, chown, utimens and xattr changes of a commit's
// entry are recorded in layer.db (a MetaOverride) instead of copying the entry
// up: its content stays the commit's, and `layer diff` shows it as modified. An
// entry already in upper/ is changed in place.
import fs from 'node:fs';
import { S_IFMT } from '../store/objects/types.js';
import type { BaseNode } from './base-tree.js';
import { LayerError } from './errors.js';
import { setTimes } from './file-times.js';
import type { MetaOverride } from './layer-db.js';
import type { BaseEntry } from './lookup.js';
import { getXattr, removeXattr, setXattr } from './upper-xattrs.js';

/** setxattr(2) flags. */
export const XATTR_CREATE = 1, XATTR_REPLACE = 2;

/** A utimens time: ms since the epoch, "set to now", or "leave unchanged". */
export type TimeChange = number | 'now' | 'omit';

/** The metadata a base entry has in this root: the layer's record if any, else the commit's. */
export function metaOf(e: BaseEntry<BaseNode>): MetaOverride {
  const m = e.node.meta;
  return e.over ?? { uid: m.uid, gid: m.gid, mode: m.mode, xattrs: m.xattrs, mtime: null, atime: null, ctime: null };
}

/** How a base entry with recorded metadata looks: the commit's attributes `s`, with the record's over them. */
export function withOverride<S extends { uid: number; gid: number; mode: number; mtime: number; atime: number; ctime: number }>(s: S, over: MetaOverride | undefined): S {
  if (!over) return s;
  // ctime: when the record last changed (records older than that field: newer than the
  // commit's entry, as far as anyone can tell).
  return { ...s, uid: over.uid, gid: over.gid, mode: over.mode, mtime: over.mtime ?? s.mtime, atime: over.atime ?? s.atime, ctime: over.ctime ?? Math.max(s.ctime, over.mtime ?? 0) };
}

/** One change, in both forms. */
export interface MetaChange {
  /** Applied to the real file `p` in upper/ (`st`: what the lookup found of it). */
  upper(p: string, st: fs.BigIntStats): Promise<void>;
  /** Applied to a copy of the base entry's metadata, which is then recorded. */
  base(m: MetaOverride): void;
}

export function chmodChange(mode: number): MetaChange {
  return {
    async upper(p, st) { if (!st.isSymbolicLink()) fs.chmodSync(p, mode & 0o7777); },
    base(m) { m.mode = (m.mode & S_IFMT) | (mode & 0o7777); },
  };
}

/** null leaves that id as it is. */
export function chownChange(uid: number | null, gid: number | null): MetaChange {
  return {
    async upper(p, st) { fs.lchownSync(p, uid ?? Number(st.uid), gid ?? Number(st.gid)); },
    base(m) {
      if (uid !== null) m.uid = uid;
      if (gid !== null) m.gid = gid;
      // No setuid/setgid stripping here: the kernel sends it as a mode change in the same
      // setattr (applied before the chown), by chown(2)'s rules (setgid only with g+x).
    },
  };
}

export function utimensChange(atime: TimeChange, mtime: TimeChange, now = Date.now()): MetaChange {
  return {
    async upper(p, st) {
      setTimes(p, atime, mtime, st.isSymbolicLink());
    },
    base(m) {
      if (atime !== 'omit') m.atime = atime === 'now' ? now : atime;
      if (mtime !== 'omit') m.mtime = mtime === 'now' ? now : mtime;
    },
  };
}

export function setxattrChange(name: string, value: Buffer, flags: number): MetaChange {
  return {
    async upper(p) {
      const had = (await getXattr(p, name)) !== null;
      if ((flags & XATTR_CREATE) && had) throw LayerError.of('EEXIST');
      if ((flags & XATTR_REPLACE) && !had) throw LayerError.of('ENODATA');
      await setXattr(p, name, value);
    },
    base(m) {
      const i = m.xattrs.findIndex(([k]) => k === name);
      if ((flags & XATTR_CREATE) && i >= 0) throw LayerError.of('EEXIST');
      if ((flags & XATTR_REPLACE) && i < 0) throw LayerError.of('ENODATA');
      if (i >= 0) m.xattrs[i] = [name, Buffer.from(value)]; else m.xattrs.push([name, Buffer.from(value)]);
    },
  };
}

export function removexattrChange(name: string): MetaChange {
  return {
    async upper(p) {
      if ((await getXattr(p, name)) === null) throw LayerError.of('ENODATA');
      await removeXattr(p, name);
    },
    base(m) {
      const i = m.xattrs.findIndex(([k]) => k === name);
      if (i < 0) throw LayerError.of('ENODATA');
      m.xattrs.splice(i, 1);
    },
  };
}
