import type { Command } from 'commander';
import { listMounts, type ListedMount } from '../../mount.js';
import { printJson, printTable } from '../output.js';

/** The DAEMON column: the serving daemon, and what became of the last one that died under the supervisor. */
export function daemonOf(m: ListedMount): string {
  const now = m.alive ? `pid ${m.pid}` : m.supervisor?.alive ? 'daemon dead: mounting again' : 'daemon dead: hacktree umount it';
  const d = m.deaths?.at(-1);
  if (!d) return now;
  const what = d.remounted ? `remounted at ${d.remounted}` : d.notRemounted ? `not remounted: ${d.notRemounted}` : 'remounting';
  const earlier = m.deaths!.length > 1 ? ` (${m.deaths!.length} deaths)` : '';
  return `${now}; daemon ${d.pid} ${d.how} at ${d.at}, ${what}${earlier}`;
}

export function register(program: Command): void {
  program.command('mounts')
    .description('list hacktree mounts with their commit, and daemons that died and were replaced')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const ms = listMounts();
      if (o.json) { printJson(ms); return; }
      printTable(['MOUNTPOINT', 'COMMIT', 'REV', 'ROOT', 'DAEMON', 'REPO'], ms.map((m) => [
        m.mountpoint, m.commit.slice(0, 12), m.rev || '-', m.root || '-', daemonOf(m), m.repo]));
    });
}
