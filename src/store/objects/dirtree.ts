import { deserialize, serialize, type GValue } from '../gvariant.js';
import { bytesToChecksum, checksumToBytes, sha256Hex, type Checksum } from '../checksum.js';
import { MalformedObjectError } from '../../errors.js';
import { checkName, compareNames } from './names.js';

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
  const [files, dirs] = deserialize(DIRTREE_TYPE, b) as [GValue[][], GValue[][]];
  const t: DirTree = {
    files: files.map(([name, csum]) => ({ name: name as string, checksum: checked(csum as Buffer) })),
    dirs: dirs.map(([name, tree, meta]) => ({ name: name as string, tree: checked(tree as Buffer), meta: checked(meta as Buffer) })),
  };
  const seen = new Set<string>();
  for (const list of [t.files, t.dirs]) {
    let prev: string | undefined;
    for (const e of list) {
      checkName(e.name, where);
      if (prev !== undefined && compareNames(prev, e.name) >= 0) throw new MalformedObjectError(`${where}: entries not sorted or duplicated at '${e.name}'`);
      if (seen.has(e.name)) throw new MalformedObjectError(`${where}: '${e.name}' is both a file and a directory`);
      seen.add(e.name);
      prev = e.name;
    }
  }
  return t;
}

function checked(b: Buffer): Checksum {
  if (b.length !== 32) throw new MalformedObjectError(`checksum of ${b.length} bytes in a dirtree`);
  return bytesToChecksum(b);
}
