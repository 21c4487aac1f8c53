// Hashes a content object and, alongside, its bare bytes (for the index by content).
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { checksumPrefix, type FileMeta } from './objects/file-header.js';
import type { Checksum } from './checksum.js';

export interface ContentHashes {
  object: Checksum;
  sha256: Checksum;
}

export class ContentHasher {
  private readonly obj: Hash;
  private readonly raw = createHash('sha256');
  constructor(meta: FileMeta) {
    this.obj = createHash('sha256').update(checksumPrefix(meta));
  }
  update(chunk: Buffer): this {
    this.obj.update(chunk);
    this.raw.update(chunk);
    return this;
  }
  digest(): ContentHashes {
    return { object: this.obj.digest('hex'), sha256: this.raw.digest('hex') };
  }
}

export function hashBuffer(meta: FileMeta, data: Buffer): ContentHashes {
  return new ContentHasher(meta).update(data).digest();
}

const CHUNK = 1 << 20;

/** Hashes a file on disk in 1 MiB reads; returns the bytes it saw. */
export function hashFileSync(meta: FileMeta, path: string): ContentHashes & { size: number } {
  const h = new ContentHasher(meta);
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { ...h.digest(), size };
}
