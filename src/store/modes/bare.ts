// bare: content objects carry their real owner, mode and xattrs; symlinks are
// real symlinks. Writing one needs root.
import fs from 'node:fs';
import type { FileMeta } from '../objects/file-header.js';
import { S_IFLNK, S_IFREG } from '../objects/types.js';
import { readXattrs, readXattrsSync, writeXattrsSync } from '../fs-xattrs.js';
import { MTIME_ZERO, plainStorage, stampOf } from './storage.js';

export const bareStorage = plainStorage({
  stageLink(path: string, meta: FileMeta): void {
    fs.symlinkSync(meta.symlinkTarget, path);
    fs.lchownSync(path, meta.uid, meta.gid);
    writeXattrsSync(path, meta.xattrs);
    fs.lutimesSync(path, MTIME_ZERO, MTIME_ZERO);
  },
  adopt,
  async readMeta(path: string) {
    const st = await fs.promises.lstat(path, { bigint: true });
    const target = st.isSymbolicLink() ? await fs.promises.readlink(path) : '';
    return { ...fromStat(st, target, await readXattrs(path)), stamp: stampOf(st) };
  },
  readMetaSync(path: string) {
    const st = fs.lstatSync(path);
    return fromStat(st, st.isSymbolicLink() ? fs.readlinkSync(path) : '', readXattrsSync(path));
  },
});

function adopt(path: string, meta: FileMeta): void {
  // chown first: it clears setuid/setgid, which chmod then sets.
  fs.chownSync(path, meta.uid, meta.gid);
  fs.chmodSync(path, meta.mode & 0o7777);
  writeXattrsSync(path, meta.xattrs);
  fs.utimesSync(path, MTIME_ZERO, MTIME_ZERO);
}

function fromStat(st: fs.Stats | fs.BigIntStats, target: string, xattrs: FileMeta['xattrs']): { meta: FileMeta; size: number } {
  const type = st.isSymbolicLink() ? S_IFLNK : S_IFREG;
  return { meta: { uid: Number(st.uid), gid: Number(st.gid), mode: type | (Number(st.mode) & 0o7777), symlinkTarget: target, xattrs }, size: type === S_IFLNK ? 0 : Number(st.size) };
}
