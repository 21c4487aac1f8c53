import { deserialize, serialize, type GValue, type Variant } from '../gvariant.js';
import { bytesToChecksum, checksumToBytes, type Checksum } from '../checksum.js';
import { MalformedObjectError } from '../../errors.js';
import { be64 } from './file-header.js';

export const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';

/** Metadata keeps the order it was given in: OSTree hashes it as written. */
export type Metadata = Array<[key: string, value: Variant]>;

export interface Commit {
  metadata: Metadata;
  parent: Checksum | null;
  subject: string;
  body: string;
  /** Seconds since the epoch, UTC. */
  timestamp: number;
  rootTree: Checksum;
  rootMeta: Checksum;
}

export function serializeCommit(c: Commit): Buffer {
  return serialize(COMMIT_TYPE, [
    c.metadata.map(([k, v]) => [k, v]),
    c.parent ? checksumToBytes(c.parent) : Buffer.alloc(0),
    [],
    c.subject,
    c.body,
    be64(BigInt(c.timestamp)),
    checksumToBytes(c.rootTree),
    checksumToBytes(c.rootMeta),
  ]);
}

export function parseCommit(b: Buffer): Commit {
  const [meta, parent, , subject, body, ts, tree, dmeta] = deserialize(COMMIT_TYPE, b) as [GValue[][], Buffer, GValue, string, string, bigint, Buffer, Buffer];
  if (parent.length !== 0 && parent.length !== 32) throw new MalformedObjectError('commit parent is not a checksum');
  if (tree.length !== 32 || dmeta.length !== 32) throw new MalformedObjectError('commit root is not a checksum');
  return {
    metadata: meta.map(([k, v]) => [k as string, v as Variant]),
    parent: parent.length ? bytesToChecksum(parent) : null,
    subject,
    body,
    timestamp: Number(be64(ts)),
    rootTree: bytesToChecksum(tree),
    rootMeta: bytesToChecksum(dmeta),
  };
}
