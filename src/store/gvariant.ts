// GVariant serialization in normal form, for the type strings OSTree uses.
// Little-endian framing as GLib writes it on x86; OSTree's own integers are
// byte-swapped to big-endian by the callers (see be32/be64 in objects).
import { isUtf8 } from 'node:buffer';
import { MalformedObjectError } from '../errors.js';

export type GType =
  | { kind: 'basic'; code: BasicCode; size: number; align: number }
  | { kind: 'string'; code: 's' | 'o' | 'g' }
  | { kind: 'variant' }
  | { kind: 'array'; elem: GType }
  | { kind: 'tuple'; members: GType[]; dict: boolean };

type BasicCode = 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'h' | 'x' | 't' | 'd';

/** A variant value: its type string and the value of that type. */
export interface Variant {
  type: string;
  value: GValue;
}

/**
 * JS shape of values: y/b/n/q/i/u/h → number (b → boolean), x/t → bigint, d → number,
 * s → string, ay → Buffer, other arrays → GValue[], tuples and dict entries → GValue[],
 * v → Variant.
 */
export type GValue = number | bigint | boolean | string | Buffer | Variant | GValue[];

const BASIC: Record<BasicCode, [number, number]> = {
  y: [1, 1], b: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4], x: [8, 8], t: [8, 8], d: [8, 8],
};

const typeCache = new Map<string, GType>();

export function parseType(sig: string): GType {
  let t = typeCache.get(sig);
  if (!t) {
    const [parsed, end] = parseTypeAt(sig, 0);
    if (end !== sig.length) throw new Error(`bad GVariant type string: ${sig}`);
    t = parsed;
    typeCache.set(sig, t);
  }
  return t;
}

function parseTypeAt(sig: string, pos: number): [GType, number] {
  const c = sig[pos];
  if (c === undefined) throw new Error(`truncated GVariant type string: ${sig}`);
  if (c in BASIC) {
    const [size, align] = BASIC[c as BasicCode];
    return [{ kind: 'basic', code: c as BasicCode, size, align }, pos + 1];
  }
  if (c === 's' || c === 'o' || c === 'g') return [{ kind: 'string', code: c }, pos + 1];
  if (c === 'v') return [{ kind: 'variant' }, pos + 1];
  if (c === 'a') {
    const [elem, end] = parseTypeAt(sig, pos + 1);
    return [{ kind: 'array', elem }, end];
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    const members: GType[] = [];
    let p = pos + 1;
    while (sig[p] !== close) {
      const [m, end] = parseTypeAt(sig, p);
      members.push(m);
      p = end;
    }
    return [{ kind: 'tuple', members, dict: c === '{' }, p + 1];
  }
  throw new Error(`unsupported GVariant type '${c}' in ${sig}`);
}

// Types are parsed once and cached, so their sizes are too: a dirtree of a thousand
// entries asks for them a few thousand times.
const aligns = new WeakMap<GType, number>();
const fixedSizes = new WeakMap<GType, number>();
const offsetCounts = new WeakMap<GType, number>();

export function alignOf(t: GType): number {
  if (t.kind === 'basic') return t.align;
  let a = aligns.get(t);
  if (a === undefined) aligns.set(t, a = computeAlign(t));
  return a;
}

function computeAlign(t: GType): number {
  switch (t.kind) {
    case 'basic': return t.align;
    case 'string': return 1;
    case 'variant': return 8;
    case 'array': return alignOf(t.elem);
    case 'tuple': return t.members.reduce((a, m) => Math.max(a, alignOf(m)), 1);
  }
}

/** Fixed size in bytes, or 0 when the type is variable-size. */
export function fixedSizeOf(t: GType): number {
  if (t.kind === 'basic') return t.size;
  let n = fixedSizes.get(t);
  if (n === undefined) fixedSizes.set(t, n = computeFixedSize(t));
  return n;
}

function computeFixedSize(t: GType): number {
  switch (t.kind) {
    case 'basic': return t.size;
    case 'string': case 'variant': case 'array': return 0;
    case 'tuple': {
      let size = 0;
      for (const m of t.members) {
        const ms = fixedSizeOf(m);
        if (ms === 0) return 0;
        size = alignUp(size, alignOf(m)) + ms;
      }
      if (t.members.length === 0) return 1;
      return alignUp(size, alignOf(t));
    }
  }
}

const alignUp = (n: number, a: number): number => (n + a - 1) & ~(a - 1);

function offsetWidth(bodySize: number, nOffsets: number): number {
  if (bodySize + nOffsets <= 0xff) return 1;
  if (bodySize + nOffsets * 2 <= 0xffff) return 2;
  if (bodySize + nOffsets * 4 <= 0xffffffff) return 4;
  return 8;
}

function writeOffset(buf: Buffer, pos: number, width: number, value: number): void {
  if (width === 1) buf.writeUInt8(value, pos);
  else if (width === 2) buf.writeUInt16LE(value, pos);
  else if (width === 4) buf.writeUInt32LE(value, pos);
  else buf.writeBigUInt64LE(BigInt(value), pos);
}

function readOffset(buf: Buffer, pos: number, width: number): number {
  if (width === 1) return buf.readUInt8(pos);
  if (width === 2) return buf.readUInt16LE(pos);
  if (width === 4) return buf.readUInt32LE(pos);
  return Number(buf.readBigUInt64LE(pos));
}

function widthForSize(size: number): number {
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

/** Growable output buffer; positions are absolute from the start of the outermost value. */
class Writer {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
  pad(start: number, align: number): void {
    const target = start + alignUp(this.len - start, align);
    this.ensure(target - this.len);
    this.buf.fill(0, this.len, target);
    this.len = target;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
}

export function serialize(sig: string, value: GValue): Buffer {
  const w = new Writer();
  write(w, parseType(sig), value);
  return Buffer.from(w.buf.subarray(0, w.len));
}

// Each container is written relative to its own start; alignment inside a
// container is relative to that start, which is valid because every container
// starts at a position aligned to its own alignment.
function write(w: Writer, t: GType, v: GValue): void {
  switch (t.kind) {
    case 'basic': return writeBasic(w, t.code, v);
    case 'string': {
      if (typeof v !== 'string') throw new TypeError('expected string');
      const b = Buffer.from(v, 'utf8');
      if (b.includes(0)) throw new TypeError('string contains NUL');
      w.bytes(b);
      w.bytes(ZERO);
      return;
    }
    case 'variant': {
      const vv = v as Variant;
      write(w, parseType(vv.type), vv.value);
      w.bytes(ZERO);
      w.bytes(Buffer.from(vv.type, 'ascii'));
      return;
    }
    case 'array': return writeArray(w, t.elem, v);
    case 'tuple': return writeTuple(w, t, v);
  }
}

const ZERO = Buffer.from([0]);

function writeBasic(w: Writer, code: BasicCode, v: GValue): void {
  w.ensure(8);
  const b = w.buf;
  const p = w.len;
  switch (code) {
    case 'y': b.writeUInt8(v as number, p); w.len += 1; return;
    case 'b': b.writeUInt8(v ? 1 : 0, p); w.len += 1; return;
    case 'n': b.writeInt16LE(v as number, p); w.len += 2; return;
    case 'q': b.writeUInt16LE(v as number, p); w.len += 2; return;
    case 'i': case 'h': b.writeInt32LE(v as number, p); w.len += 4; return;
    case 'u': b.writeUInt32LE((v as number) >>> 0, p); w.len += 4; return;
    case 'x': b.writeBigInt64LE(BigInt(v as bigint), p); w.len += 8; return;
    case 't': b.writeBigUInt64LE(BigInt(v as bigint), p); w.len += 8; return;
    case 'd': b.writeDoubleLE(v as number, p); w.len += 8; return;
  }
}

function writeArray(w: Writer, elem: GType, v: GValue): void {
  if (elem.kind === 'basic' && elem.code === 'y') {
    if (!Buffer.isBuffer(v)) throw new TypeError('expected Buffer for ay');
    w.bytes(v);
    return;
  }
  const items = v as GValue[];
  if (!Array.isArray(items)) throw new TypeError('expected array');
  const start = w.len;
  const align = alignOf(elem);
  if (fixedSizeOf(elem) !== 0) {
    for (const item of items) { w.pad(start, align); write(w, elem, item); }
    return;
  }
  const ends: number[] = [];
  for (const item of items) {
    w.pad(start, align);
    write(w, elem, item);
    ends.push(w.len - start);
  }
  if (items.length === 0) return;
  const body = w.len - start;
  const width = offsetWidth(body, ends.length);
  w.ensure(ends.length * width);
  for (const e of ends) { writeOffset(w.buf, w.len, width, e); w.len += width; }
}

function writeTuple(w: Writer, t: { members: GType[] }, v: GValue): void {
  const items = v as GValue[];
  if (!Array.isArray(items) || items.length !== t.members.length) {
    throw new TypeError(`tuple needs ${t.members.length} members`);
  }
  const start = w.len;
  const ends: number[] = [];
  const last = t.members.length - 1;
  t.members.forEach((m, i) => {
    w.pad(start, alignOf(m));
    write(w, m, items[i]!);
    if (fixedSizeOf(m) === 0 && i !== last) ends.push(w.len - start);
  });
  const fixed = fixedSizeOf(t as GType);
  if (fixed !== 0) {
    w.pad(start, alignOf(t as GType));
    return;
  }
  if (t.members.length === 0) { w.bytes(ZERO); return; }
  const body = w.len - start;
  const width = offsetWidth(body, ends.length);
  w.ensure(ends.length * width);
  for (let i = ends.length - 1; i >= 0; i--) { writeOffset(w.buf, w.len, width, ends[i]!); w.len += width; }
}

export function deserialize(sig: string, data: Buffer): GValue {
  return read(parseType(sig), data);
}

function bad(msg: string): never {
  throw new MalformedObjectError(msg);
}

function read(t: GType, d: Buffer): GValue {
  switch (t.kind) {
    case 'basic': {
      if (d.length !== t.size) bad(`expected ${t.size} bytes for '${t.code}', got ${d.length}`);
      return readBasic(t.code, d, 0);
    }
    case 'string': {
      if (d.length === 0 || d[d.length - 1] !== 0) bad('string not NUL-terminated');
      const s = d.subarray(0, d.length - 1);
      if (s.includes(0)) bad('string contains NUL');
      const str = s.toString('utf8');
      if (!isUtf8(s)) bad('string is not valid UTF-8');
      return str;
    }
    case 'variant': {
      const nul = d.lastIndexOf(0);
      if (nul < 0) bad('variant without type');
      const type = d.subarray(nul + 1).toString('ascii');
      let vt: GType;
      try { vt = parseType(type); } catch { bad(`variant with bad type '${type}'`); }
      return { type, value: read(vt, d.subarray(0, nul)) };
    }
    case 'array': return readArray(t.elem, d);
    case 'tuple': return readTuple(t, d);
  }
}

function readBasic(code: BasicCode, d: Buffer, p: number): GValue {
  switch (code) {
    case 'y': return d.readUInt8(p);
    case 'b': return d.readUInt8(p) !== 0;
    case 'n': return d.readInt16LE(p);
    case 'q': return d.readUInt16LE(p);
    case 'i': case 'h': return d.readInt32LE(p);
    case 'u': return d.readUInt32LE(p);
    case 'x': return d.readBigInt64LE(p);
    case 't': return d.readBigUInt64LE(p);
    case 'd': return d.readDoubleLE(p);
  }
}

function readArray(elem: GType, d: Buffer): GValue {
  if (elem.kind === 'basic' && elem.code === 'y') return Buffer.from(d);
  const out: GValue[] = [];
  if (d.length === 0) return out;
  const fixed = fixedSizeOf(elem);
  if (fixed !== 0) {
    if (d.length % fixed !== 0) bad('array size is not a multiple of its element size');
    for (let p = 0; p < d.length; p += fixed) out.push(read(elem, d.subarray(p, p + fixed)));
    return out;
  }
  const width = widthForSize(d.length);
  const lastEnd = readOffset(d, d.length - width, width);
  if (lastEnd > d.length - width) bad('array offset out of range');
  const tableLen = d.length - lastEnd;
  if (tableLen % width !== 0) bad('array offset table misaligned');
  const n = tableLen / width;
  const align = alignOf(elem);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const end = readOffset(d, lastEnd + i * width, width);
    const start = alignUp(pos, align);
    if (start > end || end > lastEnd) bad('array element out of range');
    out.push(read(elem, d.subarray(start, end)));
    pos = end;
  }
  return out;
}

/** How many framing offsets a tuple of these members carries: one per variable-size member but the last. */
function offsetCount(t: GType & { kind: 'tuple' }): number {
  let n = offsetCounts.get(t);
  if (n === undefined) offsetCounts.set(t, n = t.members.filter((m, i) => fixedSizeOf(m) === 0 && i !== t.members.length - 1).length);
  return n;
}

function readTuple(t: GType & { kind: 'tuple' }, d: Buffer): GValue {
  const members = t.members;
  const out: GValue[] = [];
  const width = widthForSize(d.length);
  let offIdx = 0; // offsets are read from the end backwards
  let pos = 0;
  const last = members.length - 1;
  const nOffsets = offsetCount(t);
  const bodyEnd = d.length - nOffsets * width;
  if (bodyEnd < 0) bad('tuple too small for its offsets');
  for (let i = 0; i <= last; i++) {
    const m = members[i]!;
    const start = alignUp(pos, alignOf(m));
    const fixed = fixedSizeOf(m);
    let end: number;
    if (fixed !== 0) end = start + fixed;
    else if (i === last) end = bodyEnd;
    else {
      offIdx++;
      end = readOffset(d, d.length - offIdx * width, width);
    }
    if (start > end || end > bodyEnd) bad('tuple member out of range');
    out.push(read(m, d.subarray(start, end)));
    pos = end;
  }
  return out;
}

/** Serializes and checks that the bytes are in normal form (what OSTree requires of metadata). */
export function isNormalForm(sig: string, data: Buffer): boolean {
  try {
    return serialize(sig, deserialize(sig, data)).equals(data);
  } catch {
    return false;
  }
}
