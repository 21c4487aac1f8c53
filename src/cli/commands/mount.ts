import { Option, type Command } from 'commander';
import { mountInBackground, serveInForeground, type MountRequest } from '../../mount.js';
import { globals, repoPath } from '../context.js';
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
    .action(async (rev: string, mountpoint: string, o: { foreground?: boolean; options: string[]; readyFd?: string }, cmd: Command) => {
      const req: MountRequest = { repoPath: repoPath(globals(cmd)), rev, mountpoint, options: o.options };
      if (o.foreground) await serveInForeground(req, o.readyFd !== undefined ? Number(o.readyFd) : null);
      const g = globals(cmd);
      const argv = [process.argv[1]!, '--repo', repoPath(g), 'mount', '-f', '--ready-fd', '3', ...o.options.flatMap((x) => ['-o', x]), rev, mountpoint];
      const { commit, mnt } = await mountInBackground(req, argv);
      out(`mounted ${commit} at ${mnt}`);
    });
}
