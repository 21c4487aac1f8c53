// bare-user: content as plain files owned by whoever wrote them; the real
// uid/gid/mode/xattrs live in the user.ostreemeta xattr, symlinks are regular
// files holding the target and a NUL. Needs no privileges.
import fs from 'node:fs';
import { parseBareUserMeta, serializeBareUserMeta, type FileMeta } from '../objects/file-header.js';
import { isLnk } from '../objects/types.js';
import { getXattr, getXattrSync, OSTREEMETA, setXattrSync } from '../fs-xattrs.js';
import { CorruptObjectError } from '../../errors.js';
import { MTIME_ZERO, plainStorage, stampOf } from './storage.js';
import { objectNameOf } from './object-name.js';

function adopt(path: string, meta: FileMeta): void {
  fs.chmodSync(path, bareUserDiskMode(meta.mode));
  setMeta(path, meta);
}

function setMeta(path: string, meta: FileMeta): void {
  setXattrSync(path, OSTREEMETA, serializeBareUserMeta(meta));
  fs.utimesSync(path, MTIME_ZERO, MTIME_ZERO);
}

/** The disk mode ostree gives bare-user objects: no setuid/setgid/sticky, always owner-readable. */
export const bareUserDiskMode = (mode: number): number => (mode & 0o775) | 0o400;

export const bareUserStorage = plainStorage({
  stageLink(path: string, meta: FileMeta): void {
    fs.writeFileSync(path, Buffer.from(meta.symlinkTarget + '\0', 'utf8'), { mode: 0o644 });
    setMeta(path, meta);
  },
  adopt,
  async readMeta(path: string) {
    const [st, raw] = await Promise.all([fs.promises.stat(path, { bigint: true }), getXattr(path, OSTREEMETA)]);
    const meta = metaOf(path, raw);
    return isLnk(meta.mode) ? withTarget(meta, await fs.promises.readFile(path)) : { meta, size: Number(st.size), stamp: stampOf(st) };
  },
  readMetaSync(path: string) {
    const meta = metaOf(path, getXattrSync(path, OSTREEMETA));
    return isLnk(meta.mode) ? withTarget(meta, fs.readFileSync(path)) : { meta, size: fs.statSync(path).size };
  },
});

function metaOf(path: string, raw: Buffer | null): FileMeta {
  if (!raw) throw new CorruptObjectError(objectNameOf(path), 'file', `no ${OSTREEMETA} xattr`);
  return parseBareUserMeta(raw, '');
}

function withTarget(meta: FileMeta, stored: Buffer): { meta: FileMeta; size: number } {
  const end = stored.length > 0 && stored[stored.length - 1] === 0 ? stored.length - 1 : stored.length;
  return { meta: { ...meta, symlinkTarget: stored.subarray(0, end).toString('utf8') }, size: 0 };
}
