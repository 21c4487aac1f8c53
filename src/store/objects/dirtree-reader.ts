// A dirtree's bytes read in one pass, without the generic GVariant reader. Every listing of a
// commit's directory parses its dirtree first (a mount's first `ls`, a walk, fsck, pull), and the
// generic reader spends several allocations per entry: for /usr/bin's 1,086 entries, ~10 ms on
// the cold JIT a mount's first listing runs on. This reader takes the same bytes to the same
// values and refuses the same bytes (test/dirtree-reader.test.ts compares the two on random and
// damaged dirtrees); what is left to check of the entries (names, order) is parseDirTree's.
//
// The type is (a(say)a(sayay)). Every member has alignment 1, so there is no padding: a
// container is its members back to back, then its framing offsets, each as wide as the
// container's size needs (1, 2, 4 or 8 bytes), the last-written first from the end.
import { isUtf8 } from 'node:buffer';
import { MalformedObjectError } from '../../errors.js';

/** One entry as the bytes hold it: its name (and where its bytes are) and its one or two checksums, as hex. */
export interface RawEntry { name: string; nameAt: number; nameEnd: number; sums: string[] }

function bad(msg: string): never {
  throw new MalformedObjectError(msg);
}

const widthFor = (size: number): number => (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffff ? 4 : 8);

function offsetAt(b: Buffer, pos: number, width: number): number {
  if (width === 1) return b[pos]!;
  if (width === 2) return b.readUInt16LE(pos);
  if (width === 4) return b.readUInt32LE(pos);
  return Number(b.readBigUInt64LE(pos));
}

/** The string (s) in b[start, end): NUL-terminated, no NUL before, UTF-8. */
function stringAt(b: Buffer, start: number, end: number): string {
  if (end <= start || b[end - 1] !== 0) bad('string not NUL-terminated');
  // One pass for the NUL and for bytes past ASCII; only a name with some is checked as UTF-8.
  let high = false;
  for (let i = start; i < end - 1; i++) {
    const c = b[i]!;
    if (c === 0) bad('string contains NUL');
    if (c >= 0x80) high = true;
  }
  if (high && !isUtf8(b.subarray(start, end - 1))) bad('string is not valid UTF-8');
  return b.toString(high ? 'utf8' : 'latin1', start, end - 1);
}

/** An ay member in b[start, end): a checksum, as hex (parseDirTree refuses one not 32 bytes long). */
const bytesAt = (b: Buffer, start: number, end: number): string => b.toString('hex', start, end);

/**
 * The entries of an array of (s ay…) tuples in b[start, end), each with `sums` byte arrays after
 * its name: (say) has one, (sayay) two. A tuple frames each of its variable members but the last.
 */
function entriesAt(b: Buffer, start: number, end: number, sums: 1 | 2): RawEntry[] {
  const out: RawEntry[] = [];
  const size = end - start;
  if (size === 0) return out;
  const w = widthFor(size);
  const lastEnd = offsetAt(b, end - w, w);
  if (lastEnd > size - w) bad('array offset out of range');
  const tableLen = size - lastEnd;
  if (tableLen % w !== 0) bad('array offset table misaligned');
  const n = tableLen / w;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const elEnd = offsetAt(b, start + lastEnd + i * w, w);
    if (pos > elEnd || elEnd > lastEnd) bad('array element out of range');
    out.push(entryAt(b, start + pos, start + elEnd, sums));
    pos = elEnd;
  }
  return out;
}

function entryAt(b: Buffer, start: number, end: number, sums: 1 | 2): RawEntry {
  const size = end - start;
  const w = widthFor(size);
  const bodyEnd = size - sums * w;
  if (bodyEnd < 0) bad('tuple too small for its offsets');
  // Members' ends, relative to start: the name's, then (for two sums) the first sum's, from the end.
  const nameEnd = offsetAt(b, end - w, w);
  if (nameEnd > bodyEnd) bad('tuple member out of range');
  const name = stringAt(b, start, start + nameEnd);
  if (sums === 1) return { name, nameAt: start, nameEnd: start + nameEnd - 1, sums: [bytesAt(b, start + nameEnd, start + bodyEnd)] };
  const firstEnd = offsetAt(b, end - 2 * w, w);
  if (nameEnd > firstEnd || firstEnd > bodyEnd) bad('tuple member out of range');
  return { name, nameAt: start, nameEnd: start + nameEnd - 1, sums: [bytesAt(b, start + nameEnd, start + firstEnd), bytesAt(b, start + firstEnd, start + bodyEnd)] };
}

/** The files (name, content checksum) and directories (name, dirtree, dirmeta) of a dirtree's bytes. */
export function readDirTreeEntries(b: Buffer): { files: RawEntry[]; dirs: RawEntry[] } {
  const w = widthFor(b.length);
  const bodyEnd = b.length - w;
  if (bodyEnd < 0) bad('tuple too small for its offsets');
  const filesEnd = offsetAt(b, bodyEnd, w);
  if (filesEnd > bodyEnd) bad('tuple member out of range');
  return { files: entriesAt(b, 0, filesEnd, 1), dirs: entriesAt(b, filesEnd, bodyEnd, 2) };
}
