import type { GValue } from '../gvariant.js';
import type { Xattrs } from './types.js';

// OSTree writes each xattr name with its trailing NUL and sorts the list by name bytes.
export function xattrsToGValue(xattrs: Xattrs): GValue[] {
  return sortXattrs(xattrs).map(([name, value]) => [Buffer.concat([Buffer.from(name, 'utf8'), NUL]), value]);
}

export function xattrsFromGValue(v: GValue): Xattrs {
  return (v as GValue[]).map((pair) => {
    const [name, value] = pair as [Buffer, Buffer];
    const end = name.length > 0 && name[name.length - 1] === 0 ? name.length - 1 : name.length;
    return [name.subarray(0, end).toString('utf8'), Buffer.from(value)];
  });
}

export function sortXattrs(xattrs: Xattrs): Xattrs {
  return [...xattrs].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
}

export function xattrsEqual(a: Xattrs, b: Xattrs): boolean {
  if (a.length !== b.length) return false;
  const sa = sortXattrs(a), sb = sortXattrs(b);
  return sa.every(([n, v], i) => n === sb[i]![0] && v.equals(sb[i]![1]));
}

const NUL = Buffer.from([0]);
