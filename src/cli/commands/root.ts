import { Option, type Command } from 'commander';
import { lazyCommit } from '../../store/remote/lazy-commit.js';
import { remoteBranchOf } from '../../store/remote/remote-branch.js';
import { Roots } from '../../roots/roots.js';
import { Layer } from '../../overlay/layer.js';
import { Repo } from '../../store/repo.js';
import { mountInBackground, unmount } from '../../mount.js';
import { findRootMount, rootMountRequest } from '../../roots/root-mount.js';
import { HacktreeError, UsageError } from '../../errors.js';
import { globals, openRepo, repoPath, sysrootPath } from '../context.js';
import { formatBytes, out, printJson, printTable, warn } from '../output.js';
import { applyStaged, configureRoot, createRoot, describeMount, loadRoot, previewUpgrade, rollbackRoot, upgradeRoot, type UpgradePreview, type UpgradeResult } from '../../roots/lifecycle.js';
import { keepOf, rollbackCommits } from '../../roots/retention.js';
import { BOOT_TRIES, confirmBoot, startBoot } from '../../roots/boot-count.js';
import { formatDate } from '../dates.js';
import { SizeReader, type CommitSize } from '../../store/ops/sizes.js';
import { describeSize } from './log.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function rootsOf(cmd: Command): Roots {
  return new Roots(sysrootPath(globals(cmd)));
}

function mountedAt(roots: Roots, name: string): string | null {
  return findRootMount(roots.sysroot, name)?.mountpoint ?? null;
}

function printPreview(p: UpgradePreview, json: boolean): void {
  if (json) { printJson(p); return; }
  out(`root ${p.name}: ${p.from.slice(0, 12)} -> ${p.to.slice(0, 12)} (${p.rev})${p.from === p.to ? ': already there, nothing to do' : ''}`);
  if (p.from === p.to) return;
  if (p.mounted) out(`${p.mounted}: the upgrade would be staged for its next boot or mount`);
  if (p.missing.length) {
    out(`would fetch ${p.missing.length} object(s) missing here (pull the branch first), e.g. ${p.missing[0]!.path}`);
    return;
  }
  out(`would change ${p.changes.length} path(s):`);
  for (const c of p.changes) out(`  ${c.change}    ${c.path}`);
  out(`would merge into the layer: ${p.merged.join(', ') || 'nothing'}${p.added.length ? ` (new: ${p.added.join(', ')})` : ''}`);
  for (const c of p.clashes) out(`clash: ${c}`);
  for (const c of p.conflicts) out(`conflict: ${c.path}: ${c.reason}`);
}

/** What an upgrade did: moved the root, staged the move, or dropped a staged one. */
export function printUpgrade(name: string, r: UpgradeResult): void {
  const [from, to] = [r.from.slice(0, 12), r.to.slice(0, 12)];
  if (r.unstaged) { out(`root ${name}: dropped the upgrade to ${r.unstaged.slice(0, 12)} staged for the next boot or mount; stays on ${from}`); return; }
  if (r.staged) {
    out(`root ${name}: ${from} -> ${to} staged: ${r.staged.booted ? `the running system (${r.staged.mount})` : `the mount at ${r.staged.mount}`} keeps serving ${from}; the next ${r.staged.booted ? 'boot' : 'boot or mount'} runs ${to}, on trial until its boot is confirmed`);
    return;
  }
  for (const c of r.clashes) warn(c);
  for (const c of r.conflicts) warn(`conflict: ${c.path}: ${c.reason}`);
  out(`root ${name}: ${from} -> ${to}${r.merged.length ? `; merged ${r.merged.join(', ')}` : ''}${r.added.length ? ` (new: ${r.added.join(', ')})` : ''}${r.checked ? '; post-upgrade check passed' : ''}`);
}

export function register(program: Command): void {
  const root = program.command('root').description('named roots: a commit plus a writable layer');

  root.command('create')
    .description('create a root running REV; --writable adds a writable path rule (glob)')
    .argument('<name>')
    .argument('<rev>')
    .option('--writable <pattern>', 'also let this path pattern take writes (repeatable)', collect, [])
    .option('--lazy', 'REV is REMOTE:BRANCH of a remote not pulled: fetch only its commit now, the rest as the root reads it')
    .action(async (name: string, rev: string, o: { writable: string[]; lazy?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      if (o.lazy) {
        const rb = remoteBranchOf(repo, rev);
        if (!rb) throw new UsageError(`--lazy takes REMOTE:BRANCH of a configured remote, not '${rev}' (see \`hacktree remote list\`)`);
        await lazyCommit(repo, rb.remote, rb.branch);
      }
      const rec = createRoot(repo, rootsOf(cmd), name, rev, o.writable);
      out(`created root ${rec.name} on ${rec.commit}${rec.branch ? ` (follows ${rec.branch})` : ''}`);
    });

  root.command('list')
    .description('list roots: name, commit, subject, where mounted')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }, cmd: Command) => {
      const roots = rootsOf(cmd);
      let repo: Repo | null = null;
      try { repo = openRepo(cmd); } catch { /* subjects need the repo; list without them */ }
      const rows = roots.list().map((x) => loadRoot(roots, x.name)).map((r) => {
        let subject = '';
        try { subject = repo?.loadCommitSync(r.commit).subject ?? ''; } catch { subject = '(commit missing)'; }
        return { ...r, subject, mountedAt: mountedAt(roots, r.name) };
      });
      if (o.json) printJson(rows);
      else printTable(['NAME', 'COMMIT', 'FOLLOWS', 'SUBJECT', 'MOUNTED'], rows.map((r) => [r.name, r.commit.slice(0, 12), r.branch ?? '-', r.subject || '-', r.mountedAt ?? 'not mounted']));
    });

  root.command('show')
    .description('show a root: commit, writable rules, layer size')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const roots = rootsOf(cmd);
      const r = loadRoot(roots, name);
      let size: CommitSize | null = null;
      // The root's own state is worth showing without the repository (or with its commit gone).
      try { size = await new SizeReader(openRepo(cmd)).measure(r.commit); } catch { /* shown as unknown */ }
      const layer = Layer.open(roots.layerDir(name), { scanUpper: false });
      const info = {
        ...r,
        size,
        keep: keepOf(r),
        rollback: rollbackCommits(r),
        mountedAt: mountedAt(roots, name),
        defaultMountpoint: roots.defaultMountpoint(name),
        rules: [...layer.rules.globs],
        layer: { ...roots.layerSize(name), whiteouts: layer.whiteouts.size, metadataChanges: layer.meta.size, opaqueDirs: layer.opaque.size },
      };
      layer.close();
      if (o.json) { printJson(info); return; }
      out(`root ${info.name}\ncommit ${info.commit} (from ${info.rev})\nfollows ${info.branch ?? 'no branch (upgrade needs a REV)'}\ncreated ${info.created}`);
      out(`size ${size ? describeSize(size) : 'unknown (the commit, or objects of it, are not in the repository)'}`);
      out(`mounted ${info.mountedAt ?? 'no'} (default mountpoint ${info.defaultMountpoint})`);
      if (info.trial?.commit === info.commit) out(`on trial: booted ${info.trial.tries} time(s) unconfirmed; the boot after ${BOOT_TRIES} falls back`);
      if (info.staged) out(`staged ${info.staged.commit} (${info.staged.rev}) at ${info.staged.at}: the next boot or mount runs it, on trial`);
      out(`keeps ${info.keep} commit${info.keep === 1 ? '' : 's'}; may roll back to: ${info.rollback.map((d) => `${d.commit.slice(0, 12)} (${d.rev})`).join(', ') || 'nothing'}`);
      out(`layer ${info.layer.entries} entries, ${formatBytes(info.layer.bytes)}, ${info.layer.whiteouts} deletions, ${info.layer.metadataChanges} metadata changes`);
      if (info.conflicts?.length) {
        out('open conflicts (the layer\'s version is kept):');
        for (const c of info.conflicts) out(`  ${c.path}: ${c.reason}`);
      }
      out('writable:');
      for (const g of info.rules) out(`  ${g}`);
    });

  root.command('mount')
    .description('mount a root (default mountpoint SYSROOT/roots/NAME/mnt)')
    .argument('<name>')
    .argument('[mountpoint]')
    .option('-f, --foreground', 'stay in the foreground and log each error')
    .option('-o, --options <opts>', 'mount options (see hacktree mount)', collect, [])
    .addOption(new Option('--ready-fd <fd>').hideHelp())
    .action(async (name: string, mountpoint: string | undefined, o: { foreground?: boolean; options: string[]; readyFd?: string }, cmd: Command) => {
      const roots = rootsOf(cmd);
      const inUse = findRootMount(roots.sysroot, name);
      if (inUse?.booted) throw new HacktreeError('MOUNT', `root '${name}' is ${describeMount(inUse)}: its layer is in use`);
      // An upgrade staged while it was mounted happens now (not in the daemon, nor twice under a supervisor).
      if (!o.foreground || o.readyFd === undefined) {
        const up = await applyStaged(openRepo(cmd), roots, name, repoPath(globals(cmd)));
        if (up) printUpgrade(name, up);
      }
      // The record is read once, here: the daemon gets its commit's checksum and the layer.
      const req = rootMountRequest(roots, repoPath(globals(cmd)), loadRoot(roots, name), mountpoint ?? roots.defaultMountpoint(name), o.options);
      if (o.foreground) await (await import('../../mount-daemon.js')).serveInForeground(req, o.readyFd !== undefined ? Number(o.readyFd) : null);
      const r = await mountInBackground(req);
      out(`mounted root ${name} (${r.commit.slice(0, 12)}) at ${r.mnt}`);
    });

  root.command('upgrade')
    .description('move the root to REV (default: the head of the branch it follows) in one atomic step, merging account files; runs the post-upgrade check. A mounted or booted root keeps running its commit: the upgrade is staged for its next boot or mount (REV = the commit it runs drops a staged one)')
    .argument('<name>')
    .argument('[rev]', 'commit to move to; a branch named here is followed from then on')
    .option('--check <cmd>', `run CMD inside the upgraded root before the upgrade counts (default: ${'/usr/lib/hacktree/post-upgrade'} if the new commit has it)`)
    .option('--dry-run', 'only list what would change, what is missing locally, and which layer files would be merged')
    .option('--json', 'print JSON')
    .action(async (name: string, rev: string | undefined, o: { check?: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      if (o.dryRun) { printPreview(await previewUpgrade(repo, rootsOf(cmd), name, rev), !!o.json); return; }
      const r = await upgradeRoot(repo, rootsOf(cmd), name, rev, { check: o.check, repoPath: repo.path });
      if (o.json) { printJson(r); return; }
      printUpgrade(name, r);
    });

  root.command('rollback')
    .description('return the root to the commit it ran before its last upgrade or rollback, or to REV, an earlier one')
    .argument('<name>')
    .argument('[rev]')
    .action(async (name: string, rev: string | undefined, _o: unknown, cmd: Command) => {
      const r = await rollbackRoot(openRepo(cmd), rootsOf(cmd), name, rev);
      out(`root ${name}: ${r.from.slice(0, 12)} -> ${r.to.slice(0, 12)}`);
    });

  root.command('config')
    .description('show or set what prune keeps for a root: the current commit and up to N-1 earlier ones')
    .argument('<name>')
    .option('--keep <n>', 'keep N commits (default 2: the current one and the one rollback returns to)')
    .option('--json', 'print JSON')
    .action((name: string, o: { keep?: string; json?: boolean }, cmd: Command) => {
      const roots = rootsOf(cmd);
      if (o.keep !== undefined && !/^[1-9]\d{0,5}$/.test(o.keep)) throw new UsageError(`--keep must be a whole number from 1, not '${o.keep}'`);
      const r = o.keep !== undefined ? configureRoot(roots, name, { keep: Number(o.keep) }) : loadRoot(roots, name);
      const keep = keepOf(r);
      if (o.json) printJson({ name, keep });
      else out(`root ${name}: keeps ${keep} commit${keep === 1 ? '' : 's'}`);
    });

  root.command('history')
    .description('list the deployments of a root with their times')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }, cmd: Command) => {
      const r = loadRoot(rootsOf(cmd), name);
      const h = r.history ?? [];
      if (o.json) { printJson(h); return; }
      const row = (at: string, action: string, commit: string, rev: string) => [formatDate(Math.floor(Date.parse(at) / 1000)), action, commit.slice(0, 12), rev];
      printTable(['DATE', 'ACTION', 'COMMIT', 'REV'], [
        ...h.map((d) => row(d.at, d.action, d.commit, `${d.rev}${d.note ? ` (${d.note})` : ''}`)),
        // Not a deployment yet (the JSON lists deployments only; `root show --json` has it as `staged`).
        ...(r.staged ? [row(r.staged.at, 'staged', r.staged.commit, `${r.staged.rev} (runs from the next boot or mount)`)] : []),
      ]);
    });

  root.command('booting')
    .description('a boot of the root begins (the boot helper runs this): count a try of a commit on trial, or fall back to the one before')
    .argument('<name>')
    .option('--init <path>', 'the init the boot will run: a commit on trial without it falls back at once', '/sbin/init')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { init: string; json?: boolean }, cmd: Command) => {
      const d = await startBoot(openRepo(cmd), rootsOf(cmd), name, o.init);
      if (o.json) { printJson(d); return; }
      if (d.staged?.failed) out(`root ${name}: the upgrade to ${d.staged.to.slice(0, 12)} staged for this boot is dropped: ${d.staged.failed}`);
      else if (d.staged) out(`root ${name}: staged upgrade ${d.staged.from.slice(0, 12)} -> ${d.staged.to.slice(0, 12)} carried out`);
      if (d.fellBack) out(`root ${name}: ${d.fellBack.why}; falling back to ${d.commit.slice(0, 12)}`);
      else out(`root ${name}: booting ${d.commit.slice(0, 12)}${d.tries !== undefined ? ` (on trial: boot ${d.tries} of ${BOOT_TRIES} until \`root booted\` confirms it)` : ''}`);
    });

  root.command('booted')
    .description('the booted system came up: its commit is confirmed and no longer on trial')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) => {
      const was = confirmBoot(rootsOf(cmd), name);
      out(`root ${name}: ${was ? 'boot confirmed' : 'nothing on trial'}`);
    });

  root.command('umount')
    .description('unmount a root')
    .argument('<name>')
    .option('--lazy', 'detach now even if busy')
    .action(async (name: string, o: { lazy?: boolean }, cmd: Command) => {
      const roots = rootsOf(cmd);
      roots.get(name);
      const m = findRootMount(roots.sysroot, name, false);
      if (!m) throw new HacktreeError('MOUNT', `root '${name}' is not mounted`);
      await unmount(m.mountpoint, { lazy: o.lazy });
    });

  root.command('remove')
    .description('delete a root and its layer (the commits stay in the repository)')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) => {
      const at = mountedAt(rootsOf(cmd), name);
      if (at) throw new HacktreeError('MOUNT', `root '${name}' is mounted at ${at}: unmount it first`);
      rootsOf(cmd).remove(name);
    });
}
