import type { Command } from 'commander';
import { listMounts } from '../../mount.js';
import { daemonOf } from './mounts.js';
import { Roots } from '../../roots/roots.js';
import { loadRoot } from '../../roots/lifecycle.js';
import { findRootMount } from '../../roots/root-mount.js';
import { rollbackCommits } from '../../roots/retention.js';
import { formatRef, listRefs, parseRefName, readRef } from '../../store/refs.js';
import type { Repo } from '../../store/repo.js';
import { globals, openRepo, repoPath, sysrootPath } from '../context.js';
import { formatBytes, out, printJson, printTable } from '../output.js';

/** The head of the branch a root follows, or null where it is gone (or the repository is). */
function headOf(repo: Repo | null, branch: string | undefined): string | null {
  if (!repo || !branch) return null;
  try { return readRef(repo.path, parseRefName(branch)); } catch { return null; }
}

export function register(program: Command): void {
  program.command('status')
    .description('roots (commit, pending or staged and rollback commits, layer size, mount), mounts and their daemons, refs')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const roots = new Roots(sysrootPath(g));
      let repo: Repo | null = null;
      let repoError: string | null = null;
      // A sysroot whose repository is gone still has roots and mounts to report.
      try { repo = openRepo(cmd); } catch (e) { repoError = (e as Error).message; }
      const mounts = listMounts();
      const rows = roots.list().map((x) => {
        const r = loadRoot(roots, x.name);
        const m = findRootMount(roots.sysroot, r.name, false);
        const head = headOf(repo, r.branch);
        return {
          name: r.name,
          commit: r.commit,
          present: repo ? repo.hasObject(r.commit, 'commit') : null,
          branch: r.branch ?? null,
          branchHead: head,
          pending: r.pending ? r.pending.to : null,
          // An upgrade staged while it was mounted: the next boot or mount runs it.
          staged: r.staged ?? null,
          rollback: rollbackCommits(r).map((d) => d.commit),
          layer: roots.layerSize(r.name),
          mount: m ? { mountpoint: m.mountpoint, pid: m.pid, alive: m.alive, ...(m.booted ? { booted: true } : {}) } : null,
        };
      });
      const refs = repo ? listRefs(repo.path).map(({ ref, checksum }) => ({ ref: formatRef(ref), remote: ref.remote, checksum })) : [];
      const status = { sysroot: roots.sysroot, repo: repoPath(g), repoError, roots: rows, mounts, refs };
      if (o.json) { printJson(status); return; }
      out(`repository ${status.repo}${repoError ? `: ${repoError}` : ''}`);
      const local = refs.filter((r) => !r.remote), fetched = refs.filter((r) => r.remote);
      out(`refs: ${local.length} local branch${local.length === 1 ? '' : 'es'}${local.length ? ` (${local.map((r) => r.ref).join(', ')})` : ''}, ${fetched.length} fetched from remotes${fetched.length ? ` (${fetched.map((r) => r.ref).join(', ')})` : ''}`);
      out('');
      if (rows.length === 0) out(`no roots in ${roots.dir}`);
      printTable(['ROOT', 'COMMIT', 'FOLLOWS', 'PENDING', 'ROLLBACK', 'LAYER', 'MOUNTED'], rows.map((r) => [
        r.name,
        `${r.commit.slice(0, 12)}${r.present === false ? ' (missing)' : ''}`,
        r.branch ? `${r.branch}${r.branchHead && r.branchHead !== r.commit ? ` (head ${r.branchHead.slice(0, 12)})` : r.branchHead ? '' : ' (gone)'}` : '-',
        r.pending?.slice(0, 12) ?? (r.staged ? `${r.staged.commit.slice(0, 12)} (staged)` : '-'),
        r.rollback.map((c) => c.slice(0, 12)).join(',') || '-',
        formatBytes(r.layer.bytes),
        r.mount ? `${r.mount.mountpoint} (${r.mount.booted ? 'booted' : r.mount.alive ? `daemon ${r.mount.pid}` : 'daemon dead'})` : 'no',
      ]));
      out('');
      if (mounts.length === 0) out('no hacktree mounts');
      printTable(['MOUNTPOINT', 'COMMIT', 'REV', 'ROOT', 'DAEMON'], mounts.map((m) => [
        m.mountpoint, m.commit.slice(0, 12), m.rev || '-', m.root || '-', daemonOf(m),
      ]));
    });
}
