// The name limit of a disk file system. Checked before anything is looked up:
// Linux says ENAMETOOLONG for such a name, where the commit would only say it
// has no entry by that name.
import { LayerError } from './errors.js';

export const NAME_MAX = 255;

/** ENAMETOOLONG for a last component over NAME_MAX bytes. */
export function checkNameLength(path: string): void {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (Buffer.byteLength(name) > NAME_MAX) throw LayerError.of('ENAMETOOLONG');
}
