// Rebuild the index by content from the objects themselves.
import fs from 'node:fs';
import type { Repo } from '../repo.js';
import { isReg } from '../objects/types.js';
import { hashBuffer, hashFileSync } from '../content-hash.js';
import { inflateFilez } from '../modes/archive.js';
import { scanObjects } from './object-scan.js';
import { noProgress, type Progress } from './progress.js';

export interface ReindexResult { indexed: number; skipped: Array<{ checksum: string; message: string }> }

export function reindex(repo: Repo, progress: Progress = noProgress): ReindexResult {
  const lock = repo.lock();
  try {
    const files = scanObjects(repo).filter((o) => o.type === 'file');
    const result: ReindexResult = { indexed: 0, skipped: [] };
    const index = repo.index;
    index.batch(() => {
      index.clear();
      files.forEach((o, i) => {
        try {
          const { meta, size } = repo.storage.readMetaSync(o.path);
          if (!isReg(meta.mode)) return;
          const h = repo.storage.plainContent ? hashFileSync(meta, o.path) : hashBuffer(meta, inflateFilez(o.path, fs.readFileSync(o.path)));
          if (h.object !== o.checksum) throw new Error('checksum mismatch');
          index.put({ object: o.checksum, sha256: h.sha256, size, meta });
          result.indexed++;
        } catch (e) {
          result.skipped.push({ checksum: o.checksum, message: (e as Error).message });
        }
        if (i % 128 === 0) progress.update(i, files.length);
      });
    });
    progress.finish();
    return result;
  } finally {
    lock.release();
  }
}
