// How one repository mode lays content objects out on disk. Metadata objects
// (dirtree, dirmeta, commit, commitmeta) are plain files in every mode.
import fs from 'node:fs';
import type { FileMeta } from '../objects/file-header.js';

/** Where the bytes of a content object come from when it is written. */
export type ContentSource =
  | { kind: 'buffer'; data: Buffer }
  | { kind: 'file'; path: string; size: number };

/** Identity of an object file on disk: what a verification result is keyed by. */
export interface ObjectStamp { ino: number; size: number; ctimeNs: bigint }

/** A content object's metadata, content size and (for plain storages, when read async) its file's stamp. */
export interface ObjectInfo { meta: FileMeta; size: number; stamp?: ObjectStamp }

export const stampOf = (st: import('node:fs').BigIntStats): ObjectStamp => ({ ino: Number(st.ino), size: Number(st.size), ctimeNs: st.ctimeNs });

export interface ContentStorage {
  /** File extension of content objects: `file` (bare modes) or `filez` (archive). */
  readonly ext: 'file' | 'filez';
  /** True when an object file holds the content as-is, so checkouts may hardlink it and mounts pread it. */
  readonly plainContent: boolean;
  /** Writes the object for (meta, content) at `path` (a staging path). */
  stage(path: string, meta: FileMeta, src: ContentSource): void;
  /** For plain content: turns a file already holding the content into the object (metadata only). */
  adopt?(path: string, meta: FileMeta): void;
  /** The same for a regular file from a buffer, creating and writing the file off the event loop (a pull overlaps it with the network). */
  stageAsync?(path: string, meta: FileMeta, data: Buffer): Promise<void>;
  /** Reads an object's metadata and content size. */
  readMeta(path: string): Promise<ObjectInfo>;
  readMetaSync(path: string): ObjectInfo;
  /** Reads the whole content of a regular-file object. */
  readContent(path: string): Promise<Buffer>;
}

export const MTIME_ZERO = new Date(0);

/** Puts content into a new plain object file (bare modes): the caller then gives it its metadata. */
export function writePlainContent(path: string, src: ContentSource): void {
  if (src.kind === 'buffer') fs.writeFileSync(path, src.data, { mode: 0o600 });
  else fs.copyFileSync(src.path, path, fs.constants.COPYFILE_FICLONE);
}

/** stageAsync for the bare modes: write off the event loop, then set the metadata. */
export function plainStageAsync(adopt: (path: string, meta: FileMeta) => void) {
  return async (path: string, meta: FileMeta, data: Buffer): Promise<void> => {
    await fs.promises.writeFile(path, data, { mode: 0o600 });
    adopt(path, meta);
  };
}
