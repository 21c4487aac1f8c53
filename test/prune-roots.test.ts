// prune never takes a commit a root runs, has pending or may roll back to:
// after `prune --refs-only --depth 0` the root still enters and rolls back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { ht, htAsync, htOk, requireRoot, sh, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, requireFuse, unmountAll } from './helpers/mounts.js';

const s = scratch('hacktree-prune-roots-');
const sysroots: string[] = [];
const tree = (i: number) => join(s.dir, `v${i}`);

beforeAll(() => {
  requireRoot('mounts roots, enters namespaces');
  requireFuse();
  fs.chmodSync(s.dir, 0o755);
  sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [tree(0)]);
  for (let i = 1; i <= 3; i++) sh('cp', ['-a', tree(0), tree(i)]);
  // Each commit holds one file of its own, so each has objects nothing else needs.
  for (let i = 0; i <= 3; i++) fs.writeFileSync(join(tree(i), 'etc', 'motd'), `v${i}\n`);
});

afterAll(() => {
  unmountAll();
  for (const sysroot of sysroots) {
    const roots = join(sysroot, 'roots');
    for (const name of fs.existsSync(roots) ? fs.readdirSync(roots) : []) {
      for (const d of fs.readdirSync(join(roots, name))) if (d.startsWith('mnt') && isMounted(join(roots, name, d))) forceUnmount(join(roots, name, d));
    }
  }
  s.cleanup();
});

interface World { sysroot: string; repo: string; c: string[]; H: (...a: string[]) => string; Hr: (...a: string[]) => ReturnType<typeof ht> }

/**
 * Branch os: v0 <- v1 <- v2 <- v3. Root web was created on v1 and, with
 * `upgrade`, moved to v2: it runs v2 and may roll back to v1, neither of them
 * a ref head, and v0 is what `prune --refs-only --depth 0` may free.
 */
function world(name: string, upgrade = true): World {
  const sysroot = join(s.dir, name);
  sysroots.push(sysroot);
  const H = (...a: string[]) => htOk(['--sysroot', sysroot, ...a]);
  const Hr = (...a: string[]) => ht(['--sysroot', sysroot, ...a]);
  H('init');
  const c: string[] = [];
  for (let i = 0; i <= 3; i++) {
    c.push(H('commit', '-b', 'os', '-s', `v${i}`, tree(i)).trim());
    if (i === 1) H('root', 'create', 'web', 'os');
    if (i === 2 && upgrade) H('root', 'upgrade', 'web', 'os');
  }
  return { sysroot, repo: join(sysroot, 'repo'), c, H, Hr };
}

const motd = (w: World) => w.H('enter', 'web', '--', '/bin/cat', '/etc/motd');
const runs = (w: World) => (JSON.parse(w.H('root', 'show', '--json', 'web')) as { commit: string }).commit;
const hasCommit = (w: World, c: string) => w.Hr('show', c).code === 0;

/** Every object file with its size. */
function objectFiles(repo: string): Map<string, number> {
  const m = new Map<string, number>();
  const objects = join(repo, 'objects');
  for (const xx of fs.readdirSync(objects)) for (const f of fs.readdirSync(join(objects, xx))) m.set(`${xx}/${f}`, fs.lstatSync(join(objects, xx, f)).size);
  return m;
}

/** One line on stderr, no stack. */
function oneLineError(r: { stderr: string }, pattern: RegExp): void {
  expect(r.stderr).toMatch(/^hacktree: [^\n]*\n$/);
  expect(r.stderr).toMatch(pattern);
}

describe('prune and roots', () => {
  it('keeps what a root runs and may roll back to; the root still enters and rolls back', () => {
    const w = world('keep');
    const [v0, v1, v2, v3] = w.c as [string, string, string, string];
    expect(runs(w)).toBe(v2);
    const out = w.H('prune', '--refs-only', '--depth', '0');
    expect(out).toContain(`keeping ${v2.slice(0, 12)}: root web runs it\n`);
    expect(out).toContain(`keeping ${v1.slice(0, 12)}: root web may roll back to it\n`);
    expect(out).toMatch(/^deleted [1-9]\d* of \d+ objects \(1 commits\) and freed [1-9]\d* bytes$/m);
    expect(hasCommit(w, v0)).toBe(false);
    for (const c of [v1, v2, v3]) expect(hasCommit(w, c)).toBe(true);
    expect(w.H('fsck')).toMatch(/: ok$/m);

    expect(motd(w)).toBe('v2\n');
    expect(w.H('root', 'rollback', 'web')).toMatch(/-> [0-9a-f]{12}$/m);
    expect(runs(w)).toBe(v1);
    expect(motd(w)).toBe('v1\n');
    // Rolled back, the root may roll back to v2: a second prune keeps it.
    expect(w.H('prune', '--refs-only', '--depth', '0')).toMatch(/^deleted 0 of/m);
    w.H('root', 'rollback', 'web');
    expect(motd(w)).toBe('v2\n');
  });

  it('--dry-run deletes nothing and reports what it keeps and the bytes a prune frees', () => {
    const w = world('dry');
    const [v0, v1, v2] = w.c as [string, string, string, string];
    const before = objectFiles(w.repo);
    const j = JSON.parse(w.H('prune', '--refs-only', '--depth', '0', '--dry-run', '--json'));
    expect(j).toMatchObject({ dryRun: true, commitsDeleted: 1 });
    expect(j.objectsDeleted).toBeGreaterThan(0);
    expect(j.bytesFreed).toBeGreaterThan(0);
    expect(j.kept).toEqual([
      { commit: v2, reasons: ['root web runs it'] },
      { commit: v1, reasons: ['root web may roll back to it'] },
    ]);
    const text = w.H('prune', '--refs-only', '--depth', '0', '--dry-run');
    expect(text).toContain(`would delete ${j.objectsDeleted} of ${j.total} objects (1 commits) and free ${j.bytesFreed} bytes`);
    expect(w.H('prune', '--refs-only', '--depth', '0', '--no-prune')).toBe(text);
    expect(objectFiles(w.repo)).toEqual(before);
    expect(hasCommit(w, v0)).toBe(true);

    // The real prune frees what the dry run said, to the byte.
    const r = JSON.parse(w.H('prune', '--refs-only', '--depth', '0', '--json'));
    const after = objectFiles(w.repo);
    const gone = [...before].filter(([f]) => !after.has(f));
    expect(r).toMatchObject({ dryRun: false, objectsDeleted: j.objectsDeleted, bytesFreed: j.bytesFreed, kept: j.kept });
    expect(gone).toHaveLength(j.objectsDeleted);
    expect(gone.reduce((n, [, size]) => n + size, 0)).toBe(j.bytesFreed);
    expect(hasCommit(w, v0)).toBe(false);
  });

  it('root config --keep 1 lets prune free the rollback commit; the root still runs', () => {
    const w = world('keep1');
    const [, v1, v2] = w.c as [string, string, string, string];
    expect(w.H('root', 'config', 'web')).toBe('root web: keeps 2 commits\n');
    expect(w.H('root', 'config', 'web', '--keep', '1')).toBe('root web: keeps 1 commit\n');
    expect(JSON.parse(w.H('root', 'show', '--json', 'web'))).toMatchObject({ keep: 1, rollback: [] });
    const r = JSON.parse(w.H('prune', '--refs-only', '--depth', '0', '--json'));
    expect(r.kept).toEqual([{ commit: v2, reasons: ['root web runs it'] }]);
    expect(r.commitsDeleted).toBe(2);
    expect(hasCommit(w, v1)).toBe(false);
    expect(motd(w)).toBe('v2\n');
    const rb = w.Hr('root', 'rollback', 'web');
    expect(rb.code).toBe(1);
    oneLineError(rb, /cannot roll root 'web' back: its earlier commit [0-9a-f]{12} is no longer in the repository/);
    expect(runs(w)).toBe(v2);
  });

  it('root config --keep 3 keeps two earlier commits, and rollback REV returns to the older one', () => {
    const w = world('keep3');
    const [v0, v1, v2, v3] = w.c as [string, string, string, string];
    w.H('root', 'upgrade', 'web', v3);
    w.H('root', 'config', 'web', '--keep', '3');
    // Heads only: v3 is os's head, and the root's v2 and v1 are kept besides.
    const r = JSON.parse(w.H('prune', '--refs-only', '--depth', '0', '--json'));
    expect(r.kept).toEqual([
      { commit: v3, reasons: ['root web runs it'] },
      { commit: v2, reasons: ['root web may roll back to it'] },
      { commit: v1, reasons: ['root web may roll back to it'] },
    ]);
    expect(hasCommit(w, v0)).toBe(false);
    w.H('root', 'rollback', 'web', v1);
    expect(runs(w)).toBe(v1);
    expect(motd(w)).toBe('v1\n');
    const again = w.Hr('root', 'rollback', 'web', v1);
    expect(again.code).toBe(1);
    oneLineError(again, /root 'web' already runs/);
    const never = w.Hr('root', 'rollback', 'web', v0);
    expect(never.code).toBe(1);
    oneLineError(never, /unknown revision/);
  });

  it('keeps the commits of an upgrade that is pending while its check runs', async () => {
    const w = world('pending', false);
    const [, v1, v2, v3] = w.c as [string, string, string, string];
    const upgrading = htAsync(['--sysroot', w.sysroot, 'root', 'upgrade', 'web', v2, '--check', 'sleep 4']);
    const rootJson = join(w.sysroot, 'roots', 'web', 'root.json');
    for (let i = 0; i < 100 && !JSON.parse(fs.readFileSync(rootJson, 'utf8')).pending; i++) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(fs.readFileSync(rootJson, 'utf8')).pending).toBeDefined();
    const r = JSON.parse(w.H('prune', '--refs-only', '--depth', '0', '--json'));
    expect(r.kept).toEqual([
      { commit: v2, reasons: ['root web has it pending (its upgrade has not finished)'] },
      { commit: v1, reasons: ['root web returns to it if its pending upgrade fails'] },
    ]);
    const done = await upgrading;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(motd(w)).toBe('v2\n');
    w.H('root', 'rollback', 'web');
    expect(motd(w)).toBe('v1\n');
    const never = w.Hr('root', 'rollback', 'web', v3);
    expect(never.code).toBe(1);
    oneLineError(never, /root 'web' never ran [0-9a-f]{12}/);
  });

  it('refuses to prune, deleting nothing, when a root record cannot be read; usage errors exit 2', () => {
    const w = world('bad');
    const before = objectFiles(w.repo);
    fs.writeFileSync(join(w.sysroot, 'roots', 'web', 'root.json'), '{ not json');
    const r = w.Hr('prune', '--refs-only', '--depth', '0');
    expect(r.code).toBe(1);
    oneLineError(r, /root 'web' has an unreadable root\.json/);
    expect(objectFiles(w.repo)).toEqual(before);

    for (const keep of ['0', 'two', '-1']) {
      const u = w.Hr('root', 'config', 'web', '--keep', keep);
      expect(u.code).toBe(2);
      oneLineError(u, /--keep must be a whole number from 1/);
    }
    const missing = w.Hr('root', 'config', 'nosuch', '--keep', '2');
    expect(missing.code).toBe(1);
    oneLineError(missing, /no root named 'nosuch'/);
  });
});
