// Lists the loose objects of a repository by scanning objects/XX/.
import fs from 'node:fs';
import { join } from 'node:path';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import type { ObjectType } from '../objects/types.js';

export interface ObjectRef { checksum: Checksum; type: ObjectType; path: string }

const EXT_TYPES: Record<string, ObjectType> = { file: 'file', filez: 'file', dirtree: 'dirtree', dirmeta: 'dirmeta', commit: 'commit', commitmeta: 'commitmeta' };

export function scanObjects(repo: Repo): ObjectRef[] {
  const out: ObjectRef[] = [];
  const objects = join(repo.path, 'objects');
  for (const xx of fs.readdirSync(objects).sort()) {
    if (!/^[0-9a-f]{2}$/.test(xx)) continue;
    for (const name of fs.readdirSync(join(objects, xx))) {
      const dot = name.indexOf('.');
      const type = EXT_TYPES[name.slice(dot + 1)];
      const rest = name.slice(0, dot);
      if (!type || !/^[0-9a-f]{62}$/.test(rest)) continue;
      out.push({ checksum: xx + rest, type, path: join(objects, xx, name) });
    }
  }
  return out;
}
