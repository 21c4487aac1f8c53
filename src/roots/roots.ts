// Roots: named, mountable OS trees, each a commit plus a writable layer.
// State lives in SYSROOT/roots/NAME/: root.json, layer/upper/, layer/layer.db.
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, UsageError } from '../errors.js';
import type { Checksum } from '../store/checksum.js';
import { atomicWriteFileSync } from '../store/durable.js';
import { Layer } from '../overlay/layer.js';
import { DEFAULT_RULES, checkRule } from '../overlay/rules.js';

export interface Deployment {
  commit: Checksum;
  rev: string;
  at: string;
  action: 'create' | 'upgrade' | 'rollback' | 'automatic rollback';
  note?: string;
}

/** A path the layer and a new commit both changed, kept as the layer has it. */
export interface Conflict { path: string; reason: string }

/** An upgrade between its commit point and its end (see upgrade.ts). */
export interface PendingUpgrade {
  txn: string;
  from: Checksum;
  fromRev: string;
  to: Checksum;
  /** What `previous` was before: an undone upgrade leaves no trace in it. */
  fromPrevious?: Checksum;
  fromPreviousRev?: string;
  /** What `branch` was before. */
  fromBranch?: string;
}

export interface RootRecord {
  name: string;
  /** The commit the root runs. */
  commit: Checksum;
  /** What it was created or last moved from (a branch, usually). */
  rev: string;
  /**
   * The branch (BRANCH or REMOTE:BRANCH) `root upgrade NAME` follows: the one it was created
   * from or last upgraded to. Absent when that was a checksum, or in a root made before it was kept.
   */
  branch?: string;
  created: string;
  /** The commit before the last upgrade or rollback: what `root rollback` returns to. */
  previous?: Checksum;
  previousRev?: string;
  history?: Deployment[];
  /** How many commits prune keeps for the root: the current one and keep-1 earlier ones (retention.ts). */
  keep?: number;
  conflicts?: Conflict[];
  pending?: PendingUpgrade;
  /** The commit an upgrade moved to, on trial until a boot of it is confirmed (boot-count.ts). */
  trial?: BootTrial;
  /**
   * An upgrade of a mounted (or booted) root, staged as OSTree stages a deployment: the running
   * mount keeps serving `commit`, and the root moves to this one, as `root upgrade` would have
   * moved it, the next time it is booted or mounted (lifecycle.ts applyStaged).
   */
  staged?: StagedUpgrade;
}

/** What `root upgrade` of a mounted root recorded: the commit, the REV it was named by, the branch followed from then on. */
export interface StagedUpgrade { commit: Checksum; rev: string; branch?: string; at: string }

/** A commit on trial and how many boots of it began without being confirmed. */
export interface BootTrial { commit: Checksum; tries: number }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class Roots {
  constructor(readonly sysroot: string) {}

  get dir(): string { return join(this.sysroot, 'roots'); }
  rootDir(name: string): string { return join(this.dir, name); }
  layerDir(name: string): string { return join(this.rootDir(name), 'layer'); }
  /** Where `root mount NAME` mounts when no mountpoint is given. */
  defaultMountpoint(name: string): string { return join(this.rootDir(name), 'mnt'); }

  checkName(name: string): void {
    if (!NAME.test(name) || name.length > 100) throw new UsageError(`invalid root name '${name}': use letters, digits, '.', '_' and '-'`);
  }

  list(): RootRecord[] {
    let names: string[];
    try { names = fs.readdirSync(this.dir).sort(); } catch { return []; }
    return names.flatMap((n) => { try { return [this.get(n)]; } catch { return []; } });
  }

  /** True when `name` is a root's (and a valid name at all). */
  has(name: string): boolean {
    return NAME.test(name) && fs.existsSync(join(this.rootDir(name), 'root.json'));
  }

  get(name: string): RootRecord {
    this.checkName(name);
    try {
      return JSON.parse(fs.readFileSync(join(this.rootDir(name), 'root.json'), 'utf8')) as RootRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HacktreeError('NOT_FOUND', `no root named '${name}' (see \`hacktree root list\`)`);
      throw new HacktreeError('BAD_REPO', `root '${name}' has an unreadable root.json: ${(e as Error).message}`);
    }
  }

  create(name: string, commit: Checksum, rev: string, extraRules: string[], branch?: string): RootRecord {
    this.checkName(name);
    for (const r of extraRules) { const bad = checkRule(r); if (bad) throw new UsageError(bad); }
    const dir = this.rootDir(name);
    if (fs.existsSync(join(dir, 'root.json'))) throw new HacktreeError('EXISTS', `a root named '${name}' exists already`);
    fs.mkdirSync(dir, { recursive: true });
    const layer = Layer.open(this.layerDir(name));
    layer.db.setRules([...DEFAULT_RULES, ...extraRules]);
    layer.close();
    fs.mkdirSync(this.defaultMountpoint(name), { recursive: true });
    const now = new Date().toISOString();
    const rec: RootRecord = { name, commit, rev, ...(branch !== undefined ? { branch } : {}), created: now, history: [{ commit, rev, at: now, action: 'create' }] };
    // root.json last: its presence is what makes the root exist.
    atomicWriteFileSync(join(dir, 'root.json'), JSON.stringify(rec, null, 2) + '\n', true);
    return rec;
  }

  update(rec: RootRecord): void {
    atomicWriteFileSync(join(this.rootDir(rec.name), 'root.json'), JSON.stringify(rec, null, 2) + '\n', true);
  }

  remove(name: string): void {
    this.get(name);
    fs.rmSync(join(this.rootDir(name), 'root.json'));
    fs.rmSync(this.rootDir(name), { recursive: true, force: true });
  }

  /** Bytes and entries held by a root's layer. */
  layerSize(name: string): { bytes: number; entries: number } {
    let bytes = 0, entries = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        entries++;
        const p = join(d, e.name);
        const st = fs.lstatSync(p);
        bytes += st.blocks * 512;
        if (e.isDirectory()) walk(p);
      }
    };
    try { walk(join(this.layerDir(name), 'upper')); } catch { /* empty */ }
    return { bytes, entries };
  }
}
