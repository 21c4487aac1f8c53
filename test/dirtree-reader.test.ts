// The one-pass dirtree reader against the generic GVariant reader it replaces: the same values for
// every dirtree, and a refusal for the same damaged bytes.
import { describe, expect, it } from 'vitest';
import { deserialize, serialize, type GValue } from '../src/store/gvariant.js';
import { DIRTREE_TYPE, parseDirTree, serializeDirTree, type DirTree } from '../src/store/objects/dirtree.js';
import { checkName, compareNames } from '../src/store/objects/names.js';
import { MalformedObjectError } from '../src/errors.js';

/** parseDirTree as it was, on the generic reader: the oracle. */
function reference(b: Buffer): DirTree {
  const [files, dirs] = deserialize(DIRTREE_TYPE, b) as [GValue[][], GValue[][]];
  const sum = (x: GValue): string => {
    const buf = x as Buffer;
    if (buf.length !== 32) throw new MalformedObjectError(`checksum of ${buf.length} bytes in a dirtree`);
    return buf.toString('hex');
  };
  const t: DirTree = {
    files: files.map(([name, c]) => ({ name: name as string, checksum: sum(c!) })),
    dirs: dirs.map(([name, tree, meta]) => ({ name: name as string, tree: sum(tree!), meta: sum(meta!) })),
  };
  const seen = new Set<string>();
  for (const list of [t.files, t.dirs]) {
    let prev: string | undefined;
    for (const e of list) {
      checkName(e.name, 'dirtree');
      if (prev !== undefined && compareNames(prev, e.name) >= 0) throw new MalformedObjectError('not sorted');
      if (seen.has(e.name)) throw new MalformedObjectError('both');
      seen.add(e.name);
      prev = e.name;
    }
  }
  return t;
}

/** A small deterministic generator (xorshift), so a failure can be run again. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const ALPHABET = ['a', 'b', 'z', 'A', '0', '-', '.', '_', 'é', 'ß', '中', '😀', '\u{e000}', '\u{ffff}'];

function randomTree(r: () => number, small = false): DirTree {
  const name = (): string => {
    // Long names now and then: an entry of more than 255 bytes frames with 2-byte offsets.
    const n = r() < 0.05 ? 200 + Math.floor(r() * 60) : 1 + Math.floor(r() * 12);
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s === '.' || s === '..' ? `${s}x` : s;
  };
  const sum = (): string => Array.from({ length: 32 }, () => Math.floor(r() * 256).toString(16).padStart(2, '0')).join('');
  // Now and then thousands of entries: an array of more than 64 KiB frames with 4-byte offsets.
  const count = (): number => (!small && r() < 0.1 ? 1500 + Math.floor(r() * 1000) : Math.floor(r() * 20));
  const names = new Set<string>();
  const unique = (): string => { let n = name(); while (names.has(n)) n = name(); names.add(n); return n; };
  return {
    files: Array.from({ length: count() }, () => ({ name: unique(), checksum: sum() })),
    dirs: Array.from({ length: count() }, () => ({ name: unique(), tree: sum(), meta: sum() })),
  };
}

type Outcome = { ok: DirTree } | { refused: true };
const outcome = (parse: (b: Buffer) => DirTree, b: Buffer): Outcome => {
  try {
    return { ok: parse(b) };
  } catch (e) {
    // A refusal is a typed error a user is told about, never a RangeError from reading past the end.
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor.name).not.toBe('RangeError');
    expect((e as Error).constructor.name).not.toBe('TypeError');
    return { refused: true };
  }
};

describe('the one-pass dirtree reader', () => {
  it('reads every dirtree as the generic reader does (300 random trees, offsets of 1, 2 and 4 bytes)', () => {
    const r = rng(12345);
    const widths = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const b = serializeDirTree(randomTree(r));
      widths.add(b.length <= 0xff ? 1 : b.length <= 0xffff ? 2 : 4);
      expect(parseDirTree(b)).toEqual(reference(b));
    }
    expect([...widths].sort()).toEqual([1, 2, 4]);
  });

  it('refuses exactly the damaged bytes the generic reader refuses, and reads the others alike', () => {
    const r = rng(777);
    let refused = 0, read = 0;
    const widths = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const t = randomTree(r, true); // small trees: their framing is most of their bytes
      const good = serializeDirTree(t);
      widths.add(good.length <= 0xff ? 1 : 2);
      const b = Buffer.from(good);
      const how = Math.floor(r() * 4);
      if (how === 0 && b.length > 0) b[Math.floor(r() * b.length)] = Math.floor(r() * 256); // any byte
      else if (how === 1 && b.length > 0) b[b.length - 1 - Math.floor(r() * Math.min(8, b.length))] ^= 1 << Math.floor(r() * 8); // framing
      const damaged = how === 2 ? b.subarray(0, Math.floor(r() * b.length)) : how === 3 ? Buffer.concat([b, Buffer.from([Math.floor(r() * 256)])]) : b;
      const want = outcome(reference, damaged);
      expect(outcome(parseDirTree, damaged)).toEqual(want);
      if ('refused' in want) refused++; else read++;
    }
    // Both kinds were met: the damage was not all caught, nor all harmless.
    expect(refused).toBeGreaterThan(500);
    expect(read).toBeGreaterThan(50);
    expect([...widths].sort()).toEqual([1, 2]);
  });

  it('refuses an empty buffer, a bad name, a short checksum, a name twice and bad order, as before', () => {
    const sum = Buffer.alloc(32, 0xab);
    const raw = (files: Array<[string, Buffer]>, dirs: Array<[string, Buffer, Buffer]> = []): Buffer => serialize(DIRTREE_TYPE, [files, dirs]);
    expect(() => parseDirTree(Buffer.alloc(0))).toThrow(MalformedObjectError);
    expect(() => parseDirTree(raw([['..', sum]]))).toThrow(/\.\./);
    expect(() => parseDirTree(raw([['a', sum.subarray(1)]]))).toThrow(/checksum of 31 bytes/);
    expect(() => parseDirTree(raw([['x', sum]], [['x', sum, sum]]))).toThrow(/both a file and a directory/);
    expect(() => parseDirTree(raw([['b', sum], ['a', sum]]))).toThrow(/not sorted or duplicated at 'a'/);
    expect(() => parseDirTree(raw([['a', sum], ['a', sum]]))).toThrow(/not sorted or duplicated at 'a'/);
    // strcmp order on UTF-8 bytes: U+E000 (EE 80 80) before U+1F600 (F0 9F 98 80), though UTF-16 has it the other way.
    expect(parseDirTree(raw([['\u{e000}', sum], ['😀', sum]])).files.map((f) => f.name)).toEqual(['\u{e000}', '😀']);
    expect(() => parseDirTree(raw([['😀', sum], ['\u{e000}', sum]]))).toThrow(/not sorted/);
  });

});
