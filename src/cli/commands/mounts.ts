import type { Command } from 'commander';
import { listMounts } from '../../mount.js';
import { printJson, printTable } from '../output.js';

export function register(program: Command): void {
  program.command('mounts')
    .description('list hacktree mounts with their commit')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const ms = listMounts();
      if (o.json) { printJson(ms); return; }
      printTable(['MOUNTPOINT', 'COMMIT', 'REV', 'ROOT', 'DAEMON', 'REPO'], ms.map((m) => [
        m.mountpoint, m.commit.slice(0, 12), m.rev || '-', m.root || '-', m.alive ? `pid ${m.pid}` : 'daemon dead: hacktree umount it', m.repo]));
    });
}
