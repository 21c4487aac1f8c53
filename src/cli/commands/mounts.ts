import type { Command } from 'commander';
import { listMounts } from '../../mount.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('mounts')
    .description('list hacktree mounts with their commit')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const ms = listMounts();
      if (o.json) { printJson(ms); return; }
      for (const m of ms) out(`${m.mountpoint}\t${m.commit}\t${m.rev || '-'}\t${m.repo}${m.alive ? '' : '\t(daemon dead: hacktree umount it)'}`);
    });
}
