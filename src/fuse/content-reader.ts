// Reads content objects. Bare modes use positional reads on the object file's
// fd, kept in a bounded cache of open objects; archive objects are inflated
// once (off the event loop, in libuv's pool) into a bounded cache. Every object
// is checked against its checksum the first time a mount reads it; objects
// found good are remembered in the repo's index keyed by the object file's
// inode, size and ctime, so the check is paid once per object, not per mount.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { LRUCache } from 'lru-cache';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { CorruptObjectError, MissingObjectError } from '../errors.js';
import { ObjectHasher } from '../store/content-hash.js';
import { checksumPrefix, parseArchiveHeader, type FileMeta } from '../store/objects/file-header.js';
import { stampOf, type ObjectInfo, type ObjectStamp } from '../store/modes/storage.js';
import type { DeferredIndexWrites } from '../store/index-writes.js';

const inflateRaw = promisify(zlib.inflateRaw);

/** An open object file; closed once evicted from the cache and no read is in flight. */
class OpenObject {
  private inflight = 0;
  private evicted = false;
  constructor(private readonly fh: fs.promises.FileHandle) {}
  async read(buf: Buffer, length: number, position: number): Promise<number> {
    this.inflight++;
    try {
      return (await this.fh.read(buf, 0, length, position)).bytesRead;
    } finally {
      if (--this.inflight === 0 && this.evicted) void this.fh.close();
    }
  }
  evict(): void {
    this.evicted = true;
    if (this.inflight === 0) void this.fh.close();
  }
}

const VERIFY_CHUNK = 256 * 1024;

/**
 * Checks a plain object file off the event loop (the FUSE addon's checkObject): opens it, takes
 * its stamp and, unless the stamp is `mark`'s (the repository's verified mark), hashes `prefix`
 * and the file's bytes against `checksum`. Resolves with the stamp and whether it is good;
 * rejects with the errno of a failed open or read.
 */
export type ObjectChecker = (file: string, prefix: Buffer, checksum: Buffer, mark: ObjectStamp | null) => Promise<{ good: boolean; stamp: ObjectStamp }>;

export interface ContentReaderOptions {
  verify: boolean;
  /** Checks objects off the event loop, in one job each instead of an open, an fstat, reads and a close. */
  check?: ObjectChecker;
  /** Bytes of inflated archive content to keep (archive repos only). */
  archiveCacheBytes?: number;
}

export class ContentReader {
  private readonly goodThisMount = new Set<Checksum>();
  private readonly inflated: LRUCache<Checksum, Buffer>;
  private readonly opened: LRUCache<Checksum, OpenObject>;
  /** One open (and one check) per object even when many reads arrive at once. */
  private readonly opening = new Map<Checksum, Promise<Buffer | OpenObject>>();
  /** Checks by `opts.check` in flight: one per object. */
  private readonly checking = new Map<Checksum, Promise<void>>();
  /** Counters for the benchmark and the log. */
  readonly stats = { opened: 0, prefetched: 0, verified: 0, verifiedBytes: 0, inflated: 0, inflatedBytes: 0 };

  constructor(private readonly repo: Repo, private readonly opts: ContentReaderOptions, private readonly writes: DeferredIndexWrites) {
    this.inflated = new LRUCache<Checksum, Buffer>({
      maxSize: opts.archiveCacheBytes ?? 128 * 1024 * 1024,
      sizeCalculation: (b) => Math.max(b.length, 1),
    });
    this.opened = new LRUCache<Checksum, OpenObject>({ max: 256, dispose: (o) => o.evict() });
  }

  async read(csum: Checksum, info: ObjectInfo, buf: Buffer, length: number, position: number): Promise<number> {
    const src = this.inflated.get(csum) ?? this.opened.get(csum) ?? await this.open(csum, info);
    if (Buffer.isBuffer(src)) {
      if (position >= src.length) return 0;
      return src.copy(buf, 0, position, Math.min(src.length, position + length));
    }
    return src.read(buf, length, position);
  }

  /**
   * Opens and checks (or, with opts.check, checks) an object ahead of its first read; errors surface on
   * that read. Resolves true once the object is open and good, false if it is
   * not or was already open or opening.
   */
  async warm(csum: Checksum, info: ObjectInfo, fetch: boolean): Promise<boolean> {
    if (this.isOpen(csum) || this.opening.has(csum) || this.checking.has(csum)) return false;
    this.stats.prefetched++;
    // A mount that reads checked object files itself needs them checked, not opened here.
    const p = this.checksOff() ? this.checkedOff(csum, info, fetch) : this.open(csum, info, fetch);
    return p.then(() => true, () => false);
  }

  /**
   * Settles once the checks and opens now in flight have (each fails or succeeds on its own):
   * what they find good is marked in the index only when they end, and a daemon that stops
   * before would leave the next mount to hash those objects again.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.checking.values(), ...this.opening.values()]);
  }

  /** True once the object has been opened (and checked), checked or inflated in this mount. */
  isOpen(csum: Checksum): boolean {
    return this.inflated.has(csum) || this.opened.has(csum) || (this.checksOff() && this.goodThisMount.has(csum));
  }

  /**
   * Makes sure a plain object's file is good to serve as it is (checked, unless verify is off):
   * what a mount that reads object files itself (native/ll) waits for before it does.
   */
  async ensureChecked(csum: Checksum, info: ObjectInfo): Promise<void> {
    if (this.checksOff()) return this.checkedOff(csum, info, true);
    await this.open(csum, info);
  }

  /** Plain objects are checked by opts.check (and never opened here to be checked). */
  checksOff(): boolean {
    return this.opts.check !== undefined && this.opts.verify && this.repo.storage.plainContent;
  }

  private checkedOff(csum: Checksum, info: ObjectInfo, fetch: boolean): Promise<void> {
    if (this.goodThisMount.has(csum)) return Promise.resolve();
    let p = this.checking.get(csum);
    // A check that may fetch must not take the failure of a warm-up that may not.
    if (p && fetch) return p.catch((e: unknown) => { if (e instanceof MissingObjectError && this.repo.fetcher) return this.checkedOff(csum, info, true); throw e; });
    if (!p) {
      const check = (): Promise<void> => this.checkOff(csum, info);
      p = (fetch ? this.repo.fetchedIfMissing('file', csum, check) : check()).finally(() => this.checking.delete(csum));
      this.checking.set(csum, p);
    }
    return p;
  }

  private async checkOff(csum: Checksum, info: ObjectInfo): Promise<void> {
    const stamp = info.stamp;
    if (stamp && this.wasVerified(csum, stamp.ino, stamp.size, stamp.ctimeNs)) {
      this.goodThisMount.add(csum);
      return;
    }
    const file = this.repo.objectPath(csum, 'file');
    // With the stamp known, the mark was just found not to match it.
    const mark = stamp ? null : this.verifiedMark(csum);
    let r: { good: boolean; stamp: ObjectStamp };
    try {
      r = await this.opts.check!(file, checksumPrefix(info.meta), Buffer.from(csum, 'hex'), mark);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(csum, 'file');
      throw e;
    }
    if (!r.good) throw new CorruptObjectError(csum, 'file', 'checksum mismatch');
    this.goodThisMount.add(csum);
    const s = r.stamp;
    if (!mark || mark.ino !== s.ino || mark.size !== s.size || mark.ctimeNs !== s.ctimeNs) {
      this.stats.verified++;
      this.stats.verifiedBytes += s.size;
      this.writes.add((index) => index.markVerified(csum, s.ino, s.size, s.ctimeNs));
    }
  }

  /** The repository's verified mark of an object: a file whose stamp is the mark's need not be hashed. */
  private verifiedMark(csum: Checksum): ObjectStamp | null {
    try {
      return this.repo.index.verifiedMark(csum);
    } catch {
      return null;
    }
  }

  /**
   * Copies an object's content (checked as a read would check it) into a new
   * file at `dest`: what a writable layer does when it copies a file up.
   */
  async copyTo(csum: Checksum, info: ObjectInfo, dest: string): Promise<void> {
    const src = this.inflated.get(csum) ?? this.opened.get(csum) ?? await this.open(csum, info);
    if (Buffer.isBuffer(src)) await fs.promises.writeFile(dest, src, { flag: 'wx', mode: 0o600 });
    else await fs.promises.copyFile(this.repo.objectPath(csum, 'file'), dest, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
  }

  /** `fetch`: on a lazy mount, an object only known by its header is fetched now (through the repository). */
  private open(csum: Checksum, info: ObjectInfo, fetch = true): Promise<Buffer | OpenObject> {
    let p = this.opening.get(csum);
    // A read that may fetch must not take the failure of a warm-up that may not.
    if (p && fetch) return p.catch((e: unknown) => { if (e instanceof MissingObjectError && this.repo.fetcher) return this.open(csum, info, true); throw e; });
    if (!p) {
      const open = (): Promise<Buffer | OpenObject> => (this.repo.storage.plainContent ? this.openPlain(csum, info) : this.inflate(csum, info.meta, info.size));
      p = (fetch ? this.repo.fetchedIfMissing('file', csum, open) : open())
        .finally(() => this.opening.delete(csum));
      this.opening.set(csum, p);
    }
    return p;
  }

  private async openPlain(csum: Checksum, info: ObjectInfo): Promise<OpenObject> {
    if (this.checksOff()) await this.checkedOff(csum, info, false);
    const fh = await openObject(csum, this.repo.objectPath(csum, 'file'));
    try {
      if (this.opts.verify && !this.goodThisMount.has(csum)) await this.verifyPlain(csum, info, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.stats.opened++;
    const o = new OpenObject(fh);
    this.opened.set(csum, o);
    return o;
  }

  private async verifyPlain(csum: Checksum, info: ObjectInfo, fh: fs.promises.FileHandle): Promise<void> {
    // The stamp taken when the metadata was read saves an fstat round trip.
    const { ino, size, ctimeNs } = info.stamp ?? stampOf(await fh.stat({ bigint: true }));
    const meta = info.meta;
    if (this.wasVerified(csum, ino, size, ctimeNs)) {
      this.goodThisMount.add(csum);
      return;
    }
    const h = new ObjectHasher(meta);
    // Up to PREFETCH objects are checked at once: 256 KiB each keeps that to a few MB.
    const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), VERIFY_CHUNK));
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    if (h.digest() !== csum) throw new CorruptObjectError(csum, 'file', 'checksum mismatch');
    this.stats.verified++;
    this.stats.verifiedBytes += size;
    this.goodThisMount.add(csum);
    this.writes.add((index) => index.markVerified(csum, ino, size, ctimeNs));
  }

  /** An index that cannot be read (a read-only repo) only means checking again. */
  private wasVerified(csum: Checksum, ino: number, size: number, ctimeNs: bigint): boolean {
    try {
      return this.repo.index.isVerified(csum, ino, size, ctimeNs);
    } catch {
      return false;
    }
  }

  private async inflate(csum: Checksum, meta: FileMeta, size: number): Promise<Buffer> {
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
    if (new ObjectHasher(meta).update(data).digest() !== csum) throw new CorruptObjectError(csum, 'file', 'checksum mismatch');
    this.stats.inflated++;
    this.stats.inflatedBytes += data.length;
    this.inflated.set(csum, data);
    return data;
  }
}

async function openObject(csum: Checksum, path: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(csum, 'file');
    throw e;
  }
}
