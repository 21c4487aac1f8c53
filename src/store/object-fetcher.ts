// Where a repository gets an object it does not have, when it may get one at all:
// a lazy mount's remote (remote/lazy-fetcher.ts). Whatever a fetcher brings has been
// verified against its checksum and is an ordinary object in objects/ once fetch()
// resolves true; false means the source does not have it either.
import type { Checksum } from './checksum.js';
import type { ObjectType } from './objects/types.js';
import type { ObjectInfo } from './modes/storage.js';

export interface ObjectFetcher {
  fetch(type: ObjectType, csum: Checksum): Promise<boolean>;
  /**
   * A content object's metadata ahead of its content, where the fetcher can get it cheaper
   * than the object (null: the source lacks it). Not verified until the content is read,
   * which verifies the whole object: metadata that disagrees with it then fails the read.
   */
  fetchInfo?(csum: Checksum): Promise<ObjectInfo | null>;
}
