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
  private readonly obj: ObjectHasher;
  private readonly raw = createHash('sha256');
  constructor(meta: FileMeta) {
    this.obj = new ObjectHasher(meta);
  }
  update(chunk: Buffer): this {
    this.obj.update(chunk);
    this.raw.update(chunk);
    return this;
  }
  digest(): ContentHashes {
    return { object: this.obj.digest(), sha256: this.raw.digest('hex') };
  }
}

/**
 * The object's checksum alone: what checking an object needs. The bare bytes' sha256 is for
 * the index by content, and hashing every byte twice doubled what a check costs.
 */
export class ObjectHasher {
  private readonly h: Hash;
  constructor(meta: FileMeta) {
    this.h = createHash('sha256').update(checksumPrefix(meta));
  }
  update(chunk: Buffer): this {
    this.h.update(chunk);
    return this;
  }
  digest(): Checksum {
    return this.h.digest('hex');
  }
}

export function hashBuffer(meta: FileMeta, data: Buffer): ContentHashes {
  return new ContentHasher(meta).update(data).digest();
}

/** The content object's checksum of `data` with `meta`. */
export function objectChecksum(meta: FileMeta, data: Buffer): Checksum {
  return new ObjectHasher(meta).update(data).digest();
}

const CHUNK = 1 << 20;

/** Hashes a file on disk in 1 MiB reads; returns the bytes it saw. */
export function hashFileSync(meta: FileMeta, path: string): ContentHashes & { size: number } {
  const h = new ContentHasher(meta);
  const size = feedFileSync(h, path);
  return { ...h.digest(), size };
}

/** The content object's checksum of the file at `path` with `meta`. */
export function objectChecksumOfFileSync(meta: FileMeta, path: string): Checksum {
  const h = new ObjectHasher(meta);
  feedFileSync(h, path);
  return h.digest();
}

/** Feeds the file at `path` to `h` in 1 MiB reads; returns the bytes it saw. */
function feedFileSync(h: { update(chunk: Buffer): unknown }, path: string): number {
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
  return size;
}
