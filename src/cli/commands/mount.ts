import { Option, type Command } from 'commander';
import { mountInBackground, runMountDaemon, type MountRequest } from '../../mount.js';
import { globals, repoPath } from '../context.js';
import { out } from '../output.js';
import fs from 'node:fs';

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
      if (o.foreground) {
        const fd = o.readyFd !== undefined ? Number(o.readyFd) : null;
        await runMountDaemon(req, (err) => {
          if (fd === null) return;
          try { fs.writeSync(fd, err ? `error: ${err.message}\n` : 'ready\n'); fs.closeSync(fd); } catch { /* parent gone */ }
        });
        // The binding's FUSE thread keeps the loop alive after the unmount: leave explicitly.
        process.exit(0);
      }
      const g = globals(cmd);
      const argv = [process.argv[1]!, '--repo', repoPath(g), 'mount', '-f', '--ready-fd', '3', ...o.options.flatMap((x) => ['-o', x]), rev, mountpoint];
      const { commit, mnt } = await mountInBackground(req, argv);
      out(`mounted ${commit} at ${mnt}`);
    });
}
