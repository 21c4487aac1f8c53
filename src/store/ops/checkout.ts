// Check a commit out to a directory, as `ostree checkout` does: hardlinks into
// the object store where the object file is the file, copies where it is not.
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, describeSystemError } from '../../errors.js';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { splitPath } from '../tree-walk.js';
import { isLnk } from '../objects/types.js';
import type { FileMeta } from '../objects/file-header.js';
import type { DirMeta } from '../objects/dirmeta.js';
import { writeXattrsSync } from '../fs-xattrs.js';
import { MTIME_ZERO } from '../modes/storage.js';
import { inflateFilez } from '../modes/archive.js';
import { noProgress, type Progress } from './progress.js';

export interface CheckoutOptions {
  /** User mode (-U): files owned by the caller, no setuid/setgid, no xattrs; hardlinks where possible. */
  userMode: boolean;
  subpath?: string;
  progress?: Progress;
}

export interface CheckoutResult { files: number; dirs: number; hardlinks: number; copies: number }

export function checkout(repo: Repo, commit: Checksum, dest: string, opts: CheckoutOptions): CheckoutResult {
  if (fs.existsSync(dest)) throw new HacktreeError('EXISTS', `checkout destination ${dest} already exists`);
  const c = repo.loadCommitSync(commit);
  let tree = c.rootTree, meta = c.rootMeta;
  let fileAt: Checksum | null = null;
  for (const part of splitPath(opts.subpath ?? '/')) {
    if (fileAt) throw new HacktreeError('NOT_FOUND', `--subpath ${opts.subpath}: not a directory`);
    const t = repo.loadDirTreeSync(tree);
    const d = t.dirs.find((x) => x.name === part);
    const f = t.files.find((x) => x.name === part);
    if (d) { tree = d.tree; meta = d.meta; } else if (f) fileAt = f.checksum;
    else throw new HacktreeError('NOT_FOUND', `--subpath ${opts.subpath}: no such file or directory in ${commit.slice(0, 12)}`);
  }
  const w = new CheckoutWriter(repo, opts);
  // Progress shows a total: the dirtrees are read once here and come from the cache after.
  if (opts.progress) w.total = fileAt ? 1 : countFiles(repo, tree, new Map());
  try {
    if (fileAt) w.file(fileAt, dest);
    else w.dir(tree, meta, dest);
  } catch (e) {
    throw describeSystemError(e, `checkout into ${dest} failed`);
  }
  (opts.progress ?? noProgress).finish();
  return w.result;
}

/** The files (paths, not objects) below a dirtree; a subtree that occurs several times is read once. */
function countFiles(repo: Repo, tree: Checksum, memo: Map<Checksum, number>): number {
  const known = memo.get(tree);
  if (known !== undefined) return known;
  const t = repo.loadDirTreeSync(tree);
  const n = t.files.length + t.dirs.reduce((sum, d) => sum + countFiles(repo, d.tree, memo), 0);
  memo.set(tree, n);
  return n;
}

class CheckoutWriter {
  readonly result: CheckoutResult = { files: 0, dirs: 0, hardlinks: 0, copies: 0 };
  total: number | null = null;
  private readonly canLink: boolean;
  private readonly progress: Progress;

  constructor(private readonly repo: Repo, private readonly opts: CheckoutOptions) {
    // A bare object carries its real owner and mode, so it can serve a full checkout as is;
    // a bare-user object only serves a user-mode one (its disk mode is what -U wants).
    this.canLink = repo.storage.plainContent && (opts.userMode || repo.mode === 'bare');
    this.progress = opts.progress ?? noProgress;
  }

  dir(tree: Checksum, metaCsum: Checksum, path: string): void {
    const meta = this.repo.loadDirMetaSync(metaCsum);
    // Created owner-writable so it can be filled; its real mode comes last.
    fs.mkdirSync(path, { mode: 0o700 });
    const t = this.repo.loadDirTreeSync(tree);
    for (const f of t.files) this.file(f.checksum, join(path, f.name));
    for (const d of t.dirs) this.dir(d.tree, d.meta, join(path, d.name));
    this.applyDirMeta(path, meta);
    this.result.dirs++;
  }

  file(csum: Checksum, path: string): void {
    const { meta } = this.repo.loadFileMetaSync(csum);
    const obj = this.repo.objectPath(csum, 'file');
    if (isLnk(meta.mode)) {
      fs.symlinkSync(meta.symlinkTarget, path);
      if (!this.opts.userMode) {
        fs.lchownSync(path, meta.uid, meta.gid);
        writeXattrsSync(path, meta.xattrs);
      }
    } else if (this.canLink) {
      fs.linkSync(obj, path);
      this.result.hardlinks++;
    } else {
      this.copy(obj, meta, path);
      this.result.copies++;
    }
    if (++this.result.files % 256 === 0) this.progress.update(this.result.files, this.total, path);
  }

  private copy(obj: string, meta: FileMeta, path: string): void {
    if (this.repo.storage.plainContent) fs.copyFileSync(obj, path, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
    else fs.writeFileSync(path, inflateFilez(obj, fs.readFileSync(obj)), { flag: 'wx', mode: 0o600 });
    if (this.opts.userMode) {
      fs.chmodSync(path, meta.mode & 0o1777);
    } else {
      fs.chownSync(path, meta.uid, meta.gid);
      fs.chmodSync(path, meta.mode & 0o7777);
      writeXattrsSync(path, meta.xattrs);
    }
    fs.utimesSync(path, MTIME_ZERO, MTIME_ZERO);
  }

  private applyDirMeta(path: string, meta: DirMeta): void {
    if (this.opts.userMode) {
      fs.chmodSync(path, meta.mode & 0o1777);
      return;
    }
    fs.chownSync(path, meta.uid, meta.gid);
    fs.chmodSync(path, meta.mode & 0o7777);
    writeXattrsSync(path, meta.xattrs);
  }
}
