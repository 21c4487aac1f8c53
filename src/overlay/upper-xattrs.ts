// Extended attributes of files in upper/, failing as node:fs fails: with the errno
// name in `code`. @napi-rs/xattr reports the OS error only in its message
// ("... (os error 28)"), which the FUSE binding cannot map: it became EIO.
import { constants } from 'node:os';
import { xattrLib } from '../store/native-packages.js';

const NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** The error `e` with `code` set to the errno name its message gives, when it gives one. */
function withCode(e: unknown): unknown {
  const m = e instanceof Error ? /\(os error (\d+)\)/.exec(e.message) : null;
  const name = m ? NAMES.get(Number(m[1])) : undefined;
  return name ? Object.assign(new Error(`${name}: ${(e as Error).message}`), { code: name }) : e;
}

async function coded<T>(p: Promise<T>): Promise<T> {
  try { return await p; } catch (e) { throw withCode(e); }
}

export const getXattr = (p: string, name: string): Promise<Buffer | null> => coded(xattrLib().getAttribute(p, name));
export const listXattrs = (p: string): Promise<string[]> => coded(xattrLib().listAttributes(p));
export const setXattr = (p: string, name: string, value: Buffer): Promise<void> => coded(xattrLib().setAttribute(p, name, value));
export const removeXattr = (p: string, name: string): Promise<void> => coded(xattrLib().removeAttribute(p, name));
