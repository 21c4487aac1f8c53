import { deserialize, serialize, type GValue } from '../gvariant.js';
import { MalformedObjectError } from '../../errors.js';
import { be32 } from './file-header.js';
import { xattrsFromGValue, xattrsToGValue } from './xattrs.js';
import { isDir, type Xattrs } from './types.js';

export const DIRMETA_TYPE = '(uuua(ayay))';

export interface DirMeta {
  uid: number;
  gid: number;
  /** Full st_mode including S_IFDIR. */
  mode: number;
  xattrs: Xattrs;
}

export function serializeDirMeta(m: DirMeta): Buffer {
  return serialize(DIRMETA_TYPE, [be32(m.uid), be32(m.gid), be32(m.mode), xattrsToGValue(m.xattrs)]);
}

export function parseDirMeta(b: Buffer): DirMeta {
  const [uid, gid, mode, xattrs] = deserialize(DIRMETA_TYPE, b) as [number, number, number, GValue];
  const m = { uid: be32(uid), gid: be32(gid), mode: be32(mode), xattrs: xattrsFromGValue(xattrs) };
  if (!isDir(m.mode)) throw new MalformedObjectError(`dirmeta with mode 0${m.mode.toString(8)} is not a directory`);
  return m;
}
