// Moving a root between commits in one atomic step. root.json is the single
// commit point: it is replaced by rename, so a crash leaves the root on the old
// commit or the new one. Layer files an upgrade merges are staged in a journal
// (roots/NAME/txn/ID: new/ the merged files, old/ hard links to what they
// replace) before the commit point. While root.json names a pending upgrade
// (merged files moving in, the post-upgrade check running) the upgrade has not
// counted yet: `recover`, which every root command runs first, rolls an
// interrupted one back to the old commit and the old layer files.
import fs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Repo } from '../store/repo.js';
import type { Checksum } from '../store/checksum.js';
import { lookupPath } from '../store/tree-walk.js';
import { diffCommits, type DiffEntry } from '../store/ops/diff.js';
import { isReg } from '../store/objects/types.js';
import { fsyncDirSync } from '../store/durable.js';
import { Layer } from '../overlay/layer.js';
import { MergedTree } from '../overlay/merge.js';
import { accountFileOf, mergeAccounts } from './account-merge.js';
import type { Conflict, Deployment, RootRecord, Roots } from './roots.js';

interface JournalEntry { path: string; hadUpper: boolean }

export interface UpgradeOutcome {
  from: Checksum;
  to: Checksum;
  merged: string[];
  added: string[];
  conflicts: Conflict[];
  clashes: string[];
}

const txnDir = (roots: Roots, name: string, id: string): string => join(roots.rootDir(name), 'txn', id);

/** Rolls back an upgrade that did not finish, and drops journals no record names. */
export function recover(roots: Roots, name: string): RootRecord {
  const rec = roots.get(name);
  if (rec.pending) rollBackPending(roots, rec, 'interrupted before it finished');
  const txns = join(roots.rootDir(name), 'txn');
  for (const id of fs.existsSync(txns) ? fs.readdirSync(txns) : []) fs.rmSync(join(txns, id), { recursive: true, force: true });
  return roots.get(name);
}

function rollBackPending(roots: Roots, rec: RootRecord, why: string): void {
  const p = rec.pending!;
  applyJournal(roots, rec.name, p.txn, 'old');
  const { pending: _p, ...rest } = rec;
  roots.update({
    ...rest,
    commit: p.from,
    rev: p.fromRev,
    previous: p.fromPrevious,
    previousRev: p.fromPreviousRev,
    branch: p.fromBranch,
    conflicts: [],
    history: [...(rec.history ?? []), { commit: p.from, rev: p.fromRev, at: new Date().toISOString(), action: 'automatic rollback', note: why }],
  });
  fs.rmSync(txnDir(roots, rec.name, p.txn), { recursive: true, force: true });
}

/** Ends a pending upgrade: it counts now; the journal goes. */
function finishPending(roots: Roots, name: string): void {
  const rec = roots.get(name);
  if (!rec.pending) return;
  const { pending, ...rest } = rec;
  roots.update(rest);
  fs.rmSync(txnDir(roots, name, pending.txn), { recursive: true, force: true });
}

/** Moves the journal's `which` files (new: merged; old: what they replaced) into the layer; idempotent. */
function applyJournal(roots: Roots, name: string, id: string, which: 'new' | 'old'): void {
  const dir = txnDir(roots, name, id);
  let manifest: JournalEntry[];
  try { manifest = JSON.parse(fs.readFileSync(join(dir, 'manifest.json'), 'utf8')) as JournalEntry[]; } catch { return; }
  const upper = join(roots.layerDir(name), 'upper');
  manifest.forEach((e, i) => {
    const src = join(dir, which, String(i));
    const dest = join(upper, e.path);
    // A link, not a rename: the journal keeps both sides until the upgrade counts or is undone.
    if (fs.existsSync(src)) {
      fs.mkdirSync(join(dest, '..'), { recursive: true });
      const tmp = `${dest}.hacktree-${id}`;
      fs.rmSync(tmp, { force: true });
      fs.linkSync(src, tmp);
      fs.renameSync(tmp, dest);
    } else if (which === 'old' && !e.hadUpper) {
      fs.rmSync(dest, { force: true });
    }
  });
  fsyncDirSync(upper);
}

async function readFileAt(repo: Repo, commit: Checksum, path: string): Promise<string | null> {
  try {
    const e = await lookupPath(repo, commit, path);
    if (e.kind !== 'file') return null;
    const { meta, content } = await repo.readContent(e.checksum);
    return isReg(meta.mode) ? content.toString('utf8') : null;
  } catch {
    return null;
  }
}

/** A path the layer and the new commit both changed, and what an upgrade does with it. */
export interface PlannedMerge {
  path: string;
  /** The merged text, or null where merging changes nothing. */
  text: string | null;
  clashes: string[];
  added: string[];
}

export interface UpgradePlan {
  /** What the new commit changes against the root's commit. */
  upstream: DiffEntry[];
  /** Layer files taking the new commit's changes: the account files merged by entry, and files copied up unchanged. */
  merges: PlannedMerge[];
  conflicts: Conflict[];
}

/**
 * What moving the root from `from` to `to` does to its layer, computed without changing
 * anything: `root upgrade --dry-run` shows it, and switchCommit carries it out.
 */
export async function planUpgrade(repo: Repo, roots: Roots, name: string, from: Checksum, to: Checksum): Promise<UpgradePlan> {
  const plan: UpgradePlan = { upstream: await diffCommits(repo, from, to), merges: [], conflicts: [] };
  const layer = Layer.open(roots.layerDir(name));
  // What the layer changed, and what it merely holds: a file copied up but left as it was
  // (shadow-utils opens /etc/passwd read-write even to change nothing) must not hide the new commit's version.
  let changed: Set<string>, held: Set<string>;
  try {
    changed = new Set(MergedTree.build(repo, layer, from).diff().map((c) => c.path));
    held = new Set([...changed, ...layer.inUpper]);
  } finally {
    layer.close();
  }
  for (const p of plan.upstream.map((c) => c.path).filter((x) => held.has(x))) {
    const kind = accountFileOf(p);
    const upperFile = join(roots.layerDir(name), 'upper', p);
    const local = fs.existsSync(upperFile) && fs.lstatSync(upperFile).isFile() ? fs.readFileSync(upperFile, 'utf8') : null;
    const [oldText, newText] = await Promise.all([readFileAt(repo, from, p), readFileAt(repo, to, p)]);
    if (local !== null && newText !== null && (kind || local === oldText)) {
      const m = kind ? mergeAccounts(kind, oldText ?? '', newText, local) : { text: newText, clashes: [], added: [] };
      plan.merges.push({ path: p, text: m.text !== local ? m.text : null, clashes: m.clashes, added: m.added.map((a) => `${kind}:${a}`) });
    } else if (changed.has(p)) {
      plan.conflicts.push({ path: p, reason: 'changed in the layer and in the new commit; the layer\'s version is kept' });
    }
  }
  return plan;
}

/**
 * Moves the root to `to`, merging the layer's account files and reporting other
 * paths both sides changed. Returns before any check runs (see runUpgrade).
 * `branch` is what the root follows from now on (undefined: as before).
 */
export async function switchCommit(repo: Repo, roots: Roots, name: string, to: Checksum, toRev: string, action: Deployment['action'], keepPending = false, branch?: string): Promise<UpgradeOutcome> {
  const rec = recover(roots, name);
  const from = rec.commit;
  const outcome: UpgradeOutcome = { from, to, merged: [], added: [], conflicts: [], clashes: [] };
  const id = randomBytes(6).toString('hex');
  const dir = txnDir(roots, name, id);
  const manifest: JournalEntry[] = [];
  if (from !== to && action === 'upgrade') {
    const plan = await planUpgrade(repo, roots, name, from, to);
    outcome.conflicts = plan.conflicts;
    for (const m of plan.merges) {
      outcome.clashes.push(...m.clashes);
      outcome.added.push(...m.added);
      if (m.text === null) continue;
      const upperFile = join(roots.layerDir(name), 'upper', m.path);
      const i = manifest.length;
      manifest.push({ path: m.path, hadUpper: true });
      fs.mkdirSync(join(dir, 'new'), { recursive: true });
      fs.mkdirSync(join(dir, 'old'), { recursive: true });
      const staged = join(dir, 'new', String(i));
      fs.writeFileSync(staged, m.text);
      const st = fs.statSync(upperFile);
      fs.chownSync(staged, st.uid, st.gid);
      fs.chmodSync(staged, st.mode & 0o7777);
      fs.linkSync(upperFile, join(dir, 'old', String(i)));
      const fd = fs.openSync(staged, 'r'); fs.fsyncSync(fd); fs.closeSync(fd);
      outcome.merged.push(m.path);
    }
    if (manifest.length) {
      fs.writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      fsyncDirSync(dir);
    }
  }
  const now = new Date().toISOString();
  // A move now supersedes an upgrade staged for later.
  const { trial: _t, staged: _s, ...kept } = rec;
  const next: RootRecord = {
    ...kept,
    // A commit an upgrade brings is on trial until a boot of it is confirmed; rollback returns to one that ran.
    ...(action === 'upgrade' ? { trial: { commit: to, tries: 0 } } : {}),
    commit: to,
    rev: toRev,
    previous: from,
    previousRev: rec.rev,
    history: [...(rec.history ?? []), { commit: to, rev: toRev, at: now, action }],
    conflicts: action === 'upgrade' ? outcome.conflicts : [],
    ...(branch !== undefined ? { branch } : {}),
    ...(manifest.length || keepPending ? { pending: { txn: id, from, fromRev: rec.rev, fromBranch: rec.branch, to, fromPrevious: rec.previous, fromPreviousRev: rec.previousRev } } : {}),
  };
  roots.update(next); // the commit point
  if (manifest.length) applyJournal(roots, name, id, 'new');
  if (!keepPending) finishPending(roots, name);
  return outcome;
}

/** The upgrade counts: used after its check passed. */
export function commitPending(roots: Roots, name: string): void {
  finishPending(roots, name);
}

/** The upgrade's check failed: back to the old commit and the old layer files. */
export function rollBackFailed(roots: Roots, name: string, why: string): void {
  const rec = roots.get(name);
  if (rec.pending) rollBackPending(roots, rec, why);
}
