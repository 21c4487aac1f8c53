import { serialize } from '../gvariant.js';
import { checksumToBytes, sha256Hex, type Checksum } from '../checksum.js';
import { MalformedObjectError } from '../../errors.js';
import { checkName, compareNames } from './names.js';
import { readDirTreeEntries, type RawEntry } from './dirtree-reader.js';

export const DIRTREE_TYPE = '(a(say)a(sayay))';

export interface DirTree {
  /** name → content object checksum, sorted by name bytes. */
  files: Array<{ name: string; checksum: Checksum }>;
  /** name → (dirtree, dirmeta), sorted by name bytes. */
  dirs: Array<{ name: string; tree: Checksum; meta: Checksum }>;
}

export function serializeDirTree(t: DirTree): Buffer {
  const files = [...t.files].sort((a, b) => compareNames(a.name, b.name));
  const dirs = [...t.dirs].sort((a, b) => compareNames(a.name, b.name));
  return serialize(DIRTREE_TYPE, [
    files.map((f) => [f.name, checksumToBytes(f.checksum)]),
    dirs.map((d) => [d.name, checksumToBytes(d.tree), checksumToBytes(d.meta)]),
  ]);
}

/** The checksum of a directory with nothing in it (one byte: an empty dirtree's framing). */
export const EMPTY_DIRTREE: Checksum = sha256Hex(serializeDirTree({ files: [], dirs: [] }));

/** Parses a dirtree and refuses what could escape a checkout: bad names, duplicates, bad order. */
export function parseDirTree(b: Buffer, where = 'dirtree'): DirTree {
  const raw = readDirTreeEntries(b);
  for (const list of [raw.files, raw.dirs]) {
    for (const e of list) for (const sum of e.sums) if (sum.length !== 64) throw new MalformedObjectError(`checksum of ${sum.length / 2} bytes in a dirtree`);
  }
  const seen = new Set<string>();
  for (const list of [raw.files, raw.dirs]) {
    let prev: RawEntry | undefined;
    for (const e of list) {
      checkName(e.name, where);
      // strcmp order on the names' UTF-8 bytes, compared where they lie.
      if (prev !== undefined && b.compare(b, e.nameAt, e.nameEnd, prev.nameAt, prev.nameEnd) >= 0) throw new MalformedObjectError(`${where}: entries not sorted or duplicated at '${e.name}'`);
      if (seen.has(e.name)) throw new MalformedObjectError(`${where}: '${e.name}' is both a file and a directory`);
      seen.add(e.name);
      prev = e;
    }
  }
  return {
    files: raw.files.map((e) => ({ name: e.name, checksum: e.sums[0]! })),
    dirs: raw.dirs.map((e) => ({ name: e.name, tree: e.sums[0]!, meta: e.sums[1]! })),
  };
}
