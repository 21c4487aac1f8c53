// How one repository mode lays content objects out on disk. Metadata objects
// (dirtree, dirmeta, commit, commitmeta) are plain files in every mode.
import fs from 'node:fs';
import type { FileMeta } from '../objects/file-header.js';
import { isLnk } from '../objects/types.js';

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

/** What a mode that keeps content as plain files (bare, bare-user) does its own way. */
export interface PlainMode {
  /** Writes a symlink object at `path`. */
  stageLink(path: string, meta: FileMeta): void;
  /** Gives a file holding the content the object's metadata. */
  adopt(path: string, meta: FileMeta): void;
  readMeta(path: string): Promise<ObjectInfo>;
  readMetaSync(path: string): ObjectInfo;
}

/** The storage of a plain mode: regular files are their content, written then adopted. */
export function plainStorage(mode: PlainMode): ContentStorage {
  return {
    ext: 'file',
    plainContent: true,
    stage(path: string, meta: FileMeta, src: ContentSource): void {
      if (isLnk(meta.mode)) return mode.stageLink(path, meta);
      if (src.kind === 'buffer') fs.writeFileSync(path, src.data, { mode: 0o600 });
      else fs.copyFileSync(src.path, path, fs.constants.COPYFILE_FICLONE);
      mode.adopt(path, meta);
    },
    adopt: mode.adopt,
    // Written off the event loop (a pull overlaps it with the network), then adopted.
    async stageAsync(path: string, meta: FileMeta, data: Buffer): Promise<void> {
      await fs.promises.writeFile(path, data, { mode: 0o600 });
      mode.adopt(path, meta);
    },
    readMeta: mode.readMeta,
    readMetaSync: mode.readMetaSync,
    readContent: (path: string) => fs.promises.readFile(path),
  };
}
