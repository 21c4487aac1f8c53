// A dirtree's entries with what a mount shows of them, kept in the repo's index
// so that listing a directory reads one record instead of one object per entry
// (composefs's idea of metadata apart from content). A content object's
// checksum covers its metadata and a dirtree's covers its entries, so the record
// is a pure function of the dirtree checksum: it never needs invalidating.
//
// Written by commit for the dirtrees it writes, and by a mount for each
// directory it lists that has none yet (commits that ostree or a pull wrote).
//
// Layout, little-endian, read in one pass (a mount parses it on a cold JIT,
// where a generic GVariant reader costs ~10 µs an entry):
//   u32 version (1), u32 files, u32 subdirs,
//   per file in dirtree order: u32 uid, u32 gid, u32 mode, f64 size,
//     u32 target length, u32 xattrs length, target (UTF-8), xattrs (GVariant a(ayay) as ostree writes them),
//   per subdirectory in dirtree order: u32 how many subdirectories it has.
import { deserialize, serialize, type GValue } from './gvariant.js';
import type { DirTree } from './objects/dirtree.js';
import type { FileMeta } from './objects/file-header.js';
import { xattrsFromGValue, xattrsToGValue } from './objects/xattrs.js';
import { isLnk, isReg } from './objects/types.js';
import { MalformedObjectError } from '../errors.js';
import type { Checksum } from './checksum.js';
import type { Repo } from './repo.js';

const VERSION = 1;
const FILE_FIXED = 4 * 3 + 8 + 4 * 2;
const XATTRS_TYPE = 'a(ayay)';
const NO_XATTRS = Buffer.alloc(0);

export interface FileStat { meta: FileMeta; size: number }

export interface TreeStats {
  /** One per dirtree file, in the same order; `size` is 0 for symlinks (as the object layer has it). */
  files: FileStat[];
  /** One per dirtree subdirectory, in the same order: how many subdirectories it has (its nlink is 2 more). */
  subdirs: number[];
}

export function serializeTreeStats(s: TreeStats): Buffer {
  const parts = s.files.map((f) => ({
    target: Buffer.from(f.meta.symlinkTarget, 'utf8'),
    xattrs: f.meta.xattrs.length === 0 ? NO_XATTRS : serialize(XATTRS_TYPE, xattrsToGValue(f.meta.xattrs)),
  }));
  const len = 12 + parts.reduce((n, p) => n + FILE_FIXED + p.target.length + p.xattrs.length, 0) + 4 * s.subdirs.length;
  const b = Buffer.allocUnsafe(len);
  let p = b.writeUInt32LE(VERSION, 0);
  p = b.writeUInt32LE(s.files.length, p);
  p = b.writeUInt32LE(s.subdirs.length, p);
  s.files.forEach((f, i) => {
    const { target, xattrs } = parts[i]!;
    p = b.writeUInt32LE(f.meta.uid, p);
    p = b.writeUInt32LE(f.meta.gid, p);
    p = b.writeUInt32LE(f.meta.mode, p);
    p = b.writeDoubleLE(f.size, p);
    p = b.writeUInt32LE(target.length, p);
    p = b.writeUInt32LE(xattrs.length, p);
    p += target.copy(b, p);
    p += xattrs.copy(b, p);
  });
  for (const n of s.subdirs) p = b.writeUInt32LE(n, p);
  return b;
}

/** Parses a record and checks it fits `tree`; a record that does not is refused (the caller reads the objects instead). */
export function parseTreeStats(b: Buffer, tree: DirTree): TreeStats {
  const need = (p: number, n: number): number => {
    if (p + n > b.length) throw new MalformedObjectError('tree stats truncated');
    return p;
  };
  if (b.length < 12 || b.readUInt32LE(0) !== VERSION) throw new MalformedObjectError('tree stats of an unknown version');
  const nFiles = b.readUInt32LE(4), nDirs = b.readUInt32LE(8);
  if (nFiles !== tree.files.length || nDirs !== tree.dirs.length) {
    throw new MalformedObjectError(`tree stats hold ${nFiles} files and ${nDirs} directories, the dirtree ${tree.files.length} and ${tree.dirs.length}`);
  }
  const files: FileStat[] = new Array(nFiles);
  let p = 12;
  for (let i = 0; i < nFiles; i++) {
    need(p, FILE_FIXED);
    const uid = b.readUInt32LE(p), gid = b.readUInt32LE(p + 4), mode = b.readUInt32LE(p + 8), size = b.readDoubleLE(p + 12);
    const tlen = b.readUInt32LE(p + 20), xlen = b.readUInt32LE(p + 24);
    p = need(p + FILE_FIXED, tlen + xlen);
    const symlinkTarget = tlen === 0 ? '' : b.toString('utf8', p, p + tlen);
    const xattrs = xlen === 0 ? [] : xattrsFromGValue(deserialize(XATTRS_TYPE, b.subarray(p + tlen, p + tlen + xlen)));
    p += tlen + xlen;
    if ((!isReg(mode) && !isLnk(mode)) || isLnk(mode) === (symlinkTarget === '')) throw new MalformedObjectError(`tree stats: bad entry (mode 0${mode.toString(8)})`);
    files[i] = { meta: { uid, gid, mode, symlinkTarget, xattrs }, size };
  }
  need(p, 4 * nDirs);
  const subdirs: number[] = new Array(nDirs);
  for (let i = 0; i < nDirs; i++, p += 4) subdirs[i] = b.readUInt32LE(p);
  if (p !== b.length) throw new MalformedObjectError('tree stats have trailing bytes');
  return { files, subdirs };
}

/**
 * The index's stats of `tree` (whose dirtree is `t`), or undefined where there is no record, the
 * index cannot be read, or the record does not fit (`ignored` is told why): the objects answer then.
 * One SQLite lookup, where reading the entries' objects costs a read per entry.
 */
export function recordedTreeStats(repo: Repo, tree: Checksum, t: DirTree, ignored?: (why: string) => void): TreeStats | undefined {
  let raw: Buffer | undefined;
  try {
    raw = repo.index.treeStats(tree);
  } catch {
    return undefined;
  }
  if (!raw) return undefined;
  try {
    return parseTreeStats(raw, t);
  } catch (e) {
    ignored?.((e as Error).message);
    return undefined;
  }
}
