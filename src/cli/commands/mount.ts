import { Option, type Command } from 'commander';
import { mountInBackground, serveInForeground, type MountRequest } from '../../mount.js';
import { globals, repoPath } from '../context.js';
import { out } from '../output.js';
import { Repo } from '../../store/repo.js';
import { isPartial, lazyCommit, remoteBranchOf } from '../../store/remote/lazy-commit.js';
import { UsageError } from '../../errors.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program.command('mount')
    .description('mount a commit read-only at MOUNTPOINT, served straight from the store')
    .argument('<rev>')
    .argument('<mountpoint>')
    .option('-f, --foreground', 'stay in the foreground and log each error')
    .option('-o, --options <opts>', 'mount options: verify=all|none, nonempty, or FUSE options (repeatable)', collect, [])
    .option('--fetch-timeout <seconds>', 'a lazy mount: how long a read waits for an object from the remote before it fails with EIO', '10')
    .addOption(new Option('--ready-fd <fd>', 'report readiness on this fd (used when daemonizing)').hideHelp())
    .addOption(new Option('--lazy-remote <name>', 'fetch missing objects from this remote (set by mount itself)').hideHelp())
    .action(async (rev: string, mountpoint: string, o: { foreground?: boolean; options: string[]; readyFd?: string; fetchTimeout: string; lazyRemote?: string }, cmd: Command) => {
      const timeout = Number(o.fetchTimeout);
      if (!(timeout > 0)) throw new UsageError(`--fetch-timeout takes a positive number of seconds, not '${o.fetchTimeout}'`);
      const remote = o.lazyRemote ?? (o.foreground ? undefined : await lazyRemoteOf(repoPath(globals(cmd)), rev));
      const req: MountRequest = { repoPath: repoPath(globals(cmd)), rev, mountpoint, options: o.options, ...(remote ? { lazy: { remote, timeoutMs: timeout * 1000 } } : {}) };
      if (o.foreground) await serveInForeground(req, o.readyFd !== undefined ? Number(o.readyFd) : null);
      const g = globals(cmd);
      const lazyArgs = remote ? ['--lazy-remote', remote, '--fetch-timeout', o.fetchTimeout] : [];
      const argv = [process.argv[1]!, '--repo', repoPath(g), 'mount', '-f', '--ready-fd', '3', ...lazyArgs, ...o.options.flatMap((x) => ['-o', x]), rev, mountpoint];
      const { commit, mnt } = await mountInBackground(req, argv);
      out(`mounted ${commit} at ${mnt}`);
    });
}

/**
 * REMOTE:BRANCH of a configured remote mounts lazily: its commit is fetched now (unless
 * the remote-tracking ref already names one here) and the rest as reads need it. Returns
 * the remote while the commit is partial, so that the daemon may fetch.
 */
async function lazyRemoteOf(repoPath: string, rev: string): Promise<string | undefined> {
  const repo = Repo.open(repoPath);
  try {
    const rb = remoteBranchOf(repo, rev);
    if (!rb) return undefined;
    return isPartial(repo, await lazyCommit(repo, rb.remote, rb.branch)) ? rb.remote : undefined;
  } finally {
    repo.close();
  }
}
