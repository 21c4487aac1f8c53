// Where a repository gets an object it does not have, when it may get one at all:
// a lazy mount's remote (remote/lazy-fetcher.ts). Whatever a fetcher brings has been
// verified against its checksum and is an ordinary object in objects/ once fetch()
// resolves true; false means the source does not have it either.
import type { Checksum } from './checksum.js';
import type { ObjectType } from './objects/types.js';

export interface ObjectFetcher {
  fetch(type: ObjectType, csum: Checksum): Promise<boolean>;
}
