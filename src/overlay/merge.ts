// The tree a root shows: its base commit with the layer applied. Built lazily:
// a directory the layer does not touch stays a reference to the base's
// (dirtree, dirmeta) pair; only touched directories are expanded. Used both to
// list what changed (layer diff) and to write a new commit (layer commit).
import fs from 'node:fs';
import { join } from 'node:path';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { sha256Hex } from '../store/checksum.js';
import { serializeDirMeta } from '../store/objects/dirmeta.js';
import { serializeDirTree } from '../store/objects/dirtree.js';
import type { FileMeta } from '../store/objects/file-header.js';
import { S_IFLNK, S_IFREG, isLnk } from '../store/objects/types.js';
import { readXattrsSync } from '../store/fs-xattrs.js';
import { objectChecksum, objectChecksumOfFileSync } from '../store/content-hash.js';
import { inflateFilez } from '../store/modes/archive.js';
import type { Transaction } from '../store/transaction.js';
import type { Layer } from './layer.js';
import { compareNames } from '../store/objects/names.js';

type BaseDir = { kind: 'basedir'; tree: Checksum; meta: Checksum };
type FileRef = { kind: 'file'; checksum: Checksum; source: FileSource };
/** Where a file's content comes from when it is written: the store, or a file in the layer. */
type FileSource =
  | { from: 'base' }
  | { from: 'base-new-meta'; base: Checksum; meta: FileMeta }
  | { from: 'upper'; path: string; meta: FileMeta }
  | { from: 'special'; path: string };
export interface MDir { kind: 'mdir'; meta: Buffer; entries: Map<string, MEntry> }
export type MEntry = BaseDir | MDir | FileRef;

export interface Change { change: 'A' | 'D' | 'M'; path: string }

const child = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

export class MergedTree {
  /** Device nodes, fifos and sockets in the layer: real changes, but no commit can hold them. */
  readonly specials: string[] = [];

  private constructor(private readonly repo: Repo, private readonly layer: Layer, readonly root: MDir, readonly baseRoot: BaseDir) {}

  static build(repo: Repo, layer: Layer, commit: Checksum): MergedTree {
    const c = repo.loadCommitSync(commit);
    const baseRoot: BaseDir = { kind: 'basedir', tree: c.rootTree, meta: c.rootMeta };
    const t = new MergedTree(repo, layer, { kind: 'mdir', meta: Buffer.alloc(0), entries: new Map() }, baseRoot);
    const root = t.expand('/', baseRoot, layer.opaque.has('/'));
    t.root.meta = root.meta;
    t.root.entries = root.entries;
    return t;
  }

  /** True when the layer has anything at or below `path`. */
  private touched(path: string): boolean {
    const prefix = path === '/' ? '/' : `${path}/`;
    const under = (s: Iterable<string>) => { for (const p of s) if (p === path || p.startsWith(prefix)) return true; return false; };
    return under(this.layer.inUpper) || under(this.layer.whiteouts) || under(this.layer.opaque) || under(this.layer.meta.keys());
  }

  private expand(path: string, base: BaseDir | null, opaque: boolean): MDir {
    const entries = new Map<string, MEntry>();
    let meta: Buffer;
    if (base && !opaque) {
      const t = this.repo.loadDirTreeSync(base.tree);
      for (const f of t.files) entries.set(f.name, { kind: 'file', checksum: f.checksum, source: { from: 'base' } });
      for (const d of t.dirs) entries.set(d.name, { kind: 'basedir', tree: d.tree, meta: d.meta });
    }
    const upperDir = this.layer.upperPath(path);
    const inUpper = this.layer.inUpper.has(path) && fs.lstatSync(upperDir, { throwIfNoEntry: false })?.isDirectory();
    if (inUpper) {
      meta = dirMetaOf(upperDir);
    } else if (base) {
      const over = this.layer.meta.get(path);
      const m = this.repo.loadDirMetaSync(base.meta);
      meta = serializeDirMeta(over ? { uid: over.uid, gid: over.gid, mode: over.mode, xattrs: over.xattrs } : m);
    } else {
      throw new Error(`internal: ${path} is neither in the layer nor in the base`);
    }
    for (const [name] of entries) if (this.layer.whiteouts.has(child(path, name))) entries.delete(name);
    // Base entries below: descend where the layer touched them; apply metadata-only changes to files.
    for (const [name, e] of [...entries]) {
      const p = child(path, name);
      if (e.kind === 'basedir' && this.touched(p)) entries.set(name, this.expand(p, e, this.layer.opaque.has(p)));
      else if (e.kind === 'file' && this.layer.meta.has(p)) entries.set(name, this.withNewMeta(p, e.checksum));
    }
    if (inUpper) {
      for (const ent of fs.readdirSync(upperDir, { withFileTypes: true })) {
        const p = child(path, ent.name);
        const full = join(upperDir, ent.name);
        if (ent.isDirectory()) {
          const prev = entries.get(ent.name);
          // Already expanded above (a base directory the layer touched), or new here (nothing of the base shows).
          if (prev?.kind !== 'mdir') entries.set(ent.name, this.expand(p, null, true));
        } else if (ent.isFile() || ent.isSymbolicLink()) {
          entries.set(ent.name, this.upperFile(full));
        } else {
          this.specials.push(p);
          entries.set(ent.name, { kind: 'file', checksum: `special:${p}`, source: { from: 'special', path: full } });
        }
      }
    }
    return { kind: 'mdir', meta, entries };
  }

  private upperFile(full: string): FileRef {
    const st = fs.lstatSync(full);
    const link = st.isSymbolicLink();
    const meta: FileMeta = {
      uid: st.uid, gid: st.gid,
      mode: link ? S_IFLNK | 0o777 : S_IFREG | (st.mode & 0o7777),
      symlinkTarget: link ? fs.readlinkSync(full) : '',
      xattrs: readXattrsSync(full),
    };
    const checksum = link ? objectChecksum(meta, Buffer.alloc(0)) : objectChecksumOfFileSync(meta, full);
    return { kind: 'file', checksum, source: { from: 'upper', path: full, meta } };
  }

  private withNewMeta(path: string, base: Checksum): FileRef {
    const over = this.layer.meta.get(path)!;
    const { meta: old } = this.repo.loadFileMetaSync(base);
    const meta: FileMeta = { uid: over.uid, gid: over.gid, mode: over.mode, symlinkTarget: old.symlinkTarget, xattrs: over.xattrs };
    const checksum = objectChecksum(meta, isLnk(old.mode) ? Buffer.alloc(0) : this.baseContent(base));
    return { kind: 'file', checksum, source: { from: 'base-new-meta', base, meta } };
  }

  private baseContent(csum: Checksum): Buffer {
    const p = this.repo.objectPath(csum, 'file');
    return this.repo.storage.plainContent ? fs.readFileSync(p) : inflateFilez(p, fs.readFileSync(p));
  }

  /** Paths added, deleted and modified against the base, sorted. */
  diff(): Change[] {
    const out: Change[] = [];
    const walk = (path: string, m: MDir, base: BaseDir | null) => {
      const baseEntries = new Map<string, MEntry>();
      if (base) {
        const t = this.repo.loadDirTreeSync(base.tree);
        for (const f of t.files) baseEntries.set(f.name, { kind: 'file', checksum: f.checksum, source: { from: 'base' } });
        for (const d of t.dirs) baseEntries.set(d.name, { kind: 'basedir', tree: d.tree, meta: d.meta });
        if (sha256Hex(m.meta) !== base.meta) out.push({ change: 'M', path });
      }
      for (const name of baseEntries.keys()) if (!m.entries.has(name)) out.push({ change: 'D', path: child(path, name) });
      for (const [name, e] of m.entries) {
        const p = child(path, name);
        const b = baseEntries.get(name);
        if (e.kind === 'basedir') continue; // untouched
        if (e.kind === 'mdir') {
          if (!b) { out.push({ change: 'A', path: p }); listAdded(p, e, out); }
          else if (b.kind !== 'basedir') { out.push({ change: 'M', path: p }); listAdded(p, e, out); }
          else walk(p, e, b);
          continue;
        }
        if (!b) out.push({ change: 'A', path: p });
        else if (b.kind !== 'file' || b.checksum !== e.checksum) out.push({ change: 'M', path: p });
      }
    };
    walk('/', this.root, this.baseRoot);
    return out.sort((a, b) => compareNames(a.path, b.path));
  }

  /** Writes every new object through `tx`; returns the root (dirtree, dirmeta). Specials are left out. */
  write(tx: Transaction): { tree: Checksum; meta: Checksum } {
    const writeDir = (m: MDir): { tree: Checksum; meta: Checksum } => {
      const files: Array<{ name: string; checksum: Checksum }> = [];
      const dirs: Array<{ name: string; tree: Checksum; meta: Checksum }> = [];
      for (const [name, e] of m.entries) {
        if (e.kind === 'basedir') dirs.push({ name, tree: e.tree, meta: e.meta });
        else if (e.kind === 'mdir') dirs.push({ name, ...writeDir(e) });
        else if (e.source.from !== 'special') files.push({ name, checksum: this.writeFile(tx, e) });
      }
      return { tree: tx.writeMeta('dirtree', serializeDirTree({ files, dirs })), meta: tx.writeMeta('dirmeta', m.meta) };
    };
    return writeDir(this.root);
  }

  private writeFile(tx: Transaction, f: FileRef): Checksum {
    const s = f.source;
    if (s.from === 'base' || s.from === 'special') return f.checksum;
    const meta = s.meta;
    const got = isLnk(meta.mode)
      ? tx.writeContent(meta, { kind: 'buffer', data: Buffer.alloc(0) })
      : s.from === 'upper'
        ? tx.writeContent(meta, { kind: 'file', path: s.path, size: 0 })
        : tx.writeContent(meta, { kind: 'buffer', data: this.baseContent(s.base) });
    return got.object;
  }
}

function listAdded(path: string, m: MDir, out: Change[]): void {
  for (const [name, e] of m.entries) {
    const p = child(path, name);
    out.push({ change: 'A', path: p });
    if (e.kind === 'mdir') listAdded(p, e, out);
  }
}

function dirMetaOf(p: string): Buffer {
  const st = fs.lstatSync(p);
  return serializeDirMeta({ uid: st.uid, gid: st.gid, mode: st.mode, xattrs: readXattrsSync(p) });
}
