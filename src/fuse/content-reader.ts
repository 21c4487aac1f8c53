// Opens content objects for reading. Bare modes read the object file with
// positional reads on its own fd; archive objects are inflated once (off the
// event loop, in libuv's pool) into a bounded cache. Every object is checked
// against its checksum the first time it is opened; objects found good are
// remembered in the repo's index keyed by the object file's inode, size and
// ctime, so the check is paid once per object, not once per mount.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { LRUCache } from 'lru-cache';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { CorruptObjectError, MissingObjectError } from '../errors.js';
import { ContentHasher } from '../store/content-hash.js';
import { parseArchiveHeader, type FileMeta } from '../store/objects/file-header.js';

const inflateRaw = promisify(zlib.inflateRaw);

export interface OpenContent {
  read(buf: Buffer, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface ContentReaderOptions {
  verify: boolean;
  /** Bytes of inflated archive content to keep (archive repos only). */
  archiveCacheBytes?: number;
}

export class ContentReader {
  private readonly goodThisMount = new Set<Checksum>();
  private readonly pendingMarks: Array<[Checksum, number, number, bigint]> = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly inflated: LRUCache<Checksum, Buffer>;
  private readonly inflating = new Map<Checksum, Promise<Buffer>>();
  /** Counters for the benchmark and the log. */
  readonly stats = { opens: 0, verified: 0, verifiedBytes: 0, inflated: 0, inflatedBytes: 0 };

  constructor(private readonly repo: Repo, private readonly opts: ContentReaderOptions) {
    this.inflated = new LRUCache<Checksum, Buffer>({
      maxSize: opts.archiveCacheBytes ?? 128 * 1024 * 1024,
      sizeCalculation: (b) => Math.max(b.length, 1),
    });
  }

  async open(csum: Checksum, meta: FileMeta, size: number): Promise<OpenContent> {
    this.stats.opens++;
    if (!this.repo.storage.plainContent) {
      const data = await this.inflate(csum, meta, size);
      return {
        read: async (buf, length, position) => {
          if (position >= data.length) return 0;
          return data.copy(buf, 0, position, Math.min(data.length, position + length));
        },
        close: async () => {},
      };
    }
    const path = this.repo.objectPath(csum, 'file');
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(csum, 'file');
      throw e;
    }
    try {
      if (this.opts.verify && !this.goodThisMount.has(csum)) await this.verifyPlain(csum, meta, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return {
      read: async (buf, length, position) => (await fh.read(buf, 0, length, position)).bytesRead,
      close: () => fh.close(),
    };
  }

  private async verifyPlain(csum: Checksum, meta: FileMeta, fh: fs.promises.FileHandle): Promise<void> {
    const st = await fh.stat({ bigint: true });
    const ino = Number(st.ino), size = Number(st.size);
    if (this.repo.index.isVerified(csum, ino, size, st.ctimeNs)) {
      this.goodThisMount.add(csum);
      return;
    }
    const h = new ContentHasher(meta);
    const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), 1 << 20));
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    if (h.digest().object !== csum) throw new CorruptObjectError(csum, 'file', 'checksum mismatch');
    this.stats.verified++;
    this.stats.verifiedBytes += size;
    this.goodThisMount.add(csum);
    this.mark(csum, ino, size, st.ctimeNs);
  }

  private inflate(csum: Checksum, meta: FileMeta, size: number): Promise<Buffer> {
    const hit = this.inflated.get(csum);
    if (hit) return Promise.resolve(hit);
    let p = this.inflating.get(csum);
    if (!p) {
      p = this.inflateUncached(csum, meta, size).finally(() => this.inflating.delete(csum));
      this.inflating.set(csum, p);
    }
    return p;
  }

  private async inflateUncached(csum: Checksum, meta: FileMeta, size: number): Promise<Buffer> {
    let whole: Buffer;
    try {
      whole = await fs.promises.readFile(this.repo.objectPath(csum, 'file'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(csum, 'file');
      throw e;
    }
    let data: Buffer;
    try {
      const { dataOffset } = parseArchiveHeader(whole);
      data = await inflateRaw(whole.subarray(dataOffset), { maxOutputLength: Math.max(size, 1) });
    } catch (e) {
      throw new CorruptObjectError(csum, 'file', (e as Error).message);
    }
    if (data.length !== size) throw new CorruptObjectError(csum, 'file', `holds ${data.length} bytes, header says ${size}`);
    // Inflating touched every byte anyway, so an archive object is always checked.
    if (new ContentHasher(meta).update(data).digest().object !== csum) throw new CorruptObjectError(csum, 'file', 'checksum mismatch');
    this.stats.inflated++;
    this.stats.inflatedBytes += data.length;
    this.inflated.set(csum, data);
    return data;
  }

  /** Verified marks are written in batches, so an open never waits on SQLite's commit. */
  private mark(csum: Checksum, ino: number, size: number, ctimeNs: bigint): void {
    this.pendingMarks.push([csum, ino, size, ctimeNs]);
    this.flushTimer ??= setTimeout(() => this.flush(), 500);
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pendingMarks.length === 0) return;
    const marks = this.pendingMarks.splice(0);
    const index = this.repo.index;
    try {
      index.batch(() => { for (const [c, i, s, t] of marks) index.markVerified(c, i, s, t); });
    } catch {
      // The repo's index is busy or read-only: this mount still remembers them.
    }
  }
}
