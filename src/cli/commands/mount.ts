import { Option, type Command } from 'commander';
import { mountCommandRequest, mountInBackground, serveInForeground, type DaemonOptions } from '../../mount.js';
import { resolveRev } from '../../store/rev.js';
import { globals, openRepo, repoPath } from '../context.js';
import { out } from '../output.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program.command('mount')
    .description('mount a commit read-only at MOUNTPOINT, served straight from the store')
    .argument('<rev>')
    .argument('<mountpoint>')
    .option('-f, --foreground', 'stay in the foreground and log each error')
    .option('-o, --options <opts>', 'mount options: verify=all|none, nonempty, or FUSE options (repeatable)', collect, [])
    .addOption(new Option('--ready-fd <fd>', 'report readiness on this fd (used when daemonizing)').hideHelp())
    // The rest of a daemon's request (see daemonArgv in src/mount.ts).
    .addOption(new Option('--label <rev>').hideHelp())
    .addOption(new Option('--layer <dir>').hideHelp())
    .addOption(new Option('--layer-root <name>').hideHelp())
    .addOption(new Option('--layer-sysroot <path>').hideHelp())
    .action(async (rev: string, mountpoint: string, o: DaemonOptions & { foreground?: boolean; options: string[]; readyFd?: string }, cmd: Command) => {
      const repo = openRepo(cmd);
      // Resolved here, once: the daemon gets the checksum.
      const req = mountCommandRequest(repoPath(globals(cmd)), resolveRev(repo, rev), rev, mountpoint, o.options, o);
      repo.close();
      if (o.foreground) await serveInForeground(req, o.readyFd !== undefined ? Number(o.readyFd) : null);
      const { commit, mnt } = await mountInBackground(req);
      out(`mounted ${commit} at ${mnt}`);
    });
}
