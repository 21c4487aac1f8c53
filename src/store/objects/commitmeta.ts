import { deserialize, serialize, type GValue, type Variant } from '../gvariant.js';

/** Detached commit metadata (signatures), stored as objects/XX/REST.commitmeta. */
export const COMMITMETA_TYPE = 'a{sv}';

export type DetachedMetadata = Array<[key: string, value: Variant]>;

export function serializeCommitMeta(m: DetachedMetadata): Buffer {
  return serialize(COMMITMETA_TYPE, m.map(([k, v]) => [k, v]));
}

export function parseCommitMeta(b: Buffer): DetachedMetadata {
  return (deserialize(COMMITMETA_TYPE, b) as GValue[][]).map(([k, v]) => [k as string, v as Variant]);
}
