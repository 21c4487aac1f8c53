// Extended attributes of files on disk. @napi-rs/xattr calls the l*xattr
// variants, so a symlink's own attributes are read and written, never its target's.
import { xattrLib } from './native-packages.js';
import type { Xattrs } from './objects/types.js';
import { sortXattrs } from './objects/xattrs.js';

/** The attribute bare-user repos keep an object's real metadata in; never part of a tree. */
export const OSTREEMETA = 'user.ostreemeta';

export function readXattrsSync(path: string): Xattrs {
  const out: Xattrs = [];
  for (const name of xattrLib().listAttributesSync(path)) {
    if (name === OSTREEMETA) continue;
    const v = xattrLib().getAttributeSync(path, name);
    if (v !== null) out.push([name, Buffer.from(v)]);
  }
  return sortXattrs(out);
}

export async function readXattrs(path: string): Promise<Xattrs> {
  const out: Xattrs = [];
  for (const name of await xattrLib().listAttributes(path)) {
    if (name === OSTREEMETA) continue;
    const v = await xattrLib().getAttribute(path, name);
    if (v !== null) out.push([name, Buffer.from(v)]);
  }
  return sortXattrs(out);
}

export function getXattrSync(path: string, name: string): Buffer | null {
  return xattrLib().getAttributeSync(path, name);
}

export async function getXattr(path: string, name: string): Promise<Buffer | null> {
  return xattrLib().getAttribute(path, name);
}

export function setXattrSync(path: string, name: string, value: Buffer): void {
  xattrLib().setAttributeSync(path, name, value);
}

export function writeXattrsSync(path: string, xattrs: Xattrs): void {
  for (const [name, value] of xattrs) xattrLib().setAttributeSync(path, name, value);
}
