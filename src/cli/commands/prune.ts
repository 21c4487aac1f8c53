import type { Command } from 'commander';
import { prune } from '../../store/ops/prune.js';
import { UsageError } from '../../errors.js';
import { openRepo } from '../context.js';
import { parseDate } from '../dates.js';
import { terminalProgress } from '../progress.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('prune')
    .description('delete objects no kept commit needs')
    .option('--refs-only', 'keep only commits reachable from refs')
    .option('--keep-younger-than <date>', 'drop commits older than this (ref heads are kept)')
    .option('--depth <n>', 'keep at most N parents behind each ref')
    .option('--no-prune', 'only report what would be deleted')
    .option('--json', 'print JSON')
    .action((o: { refsOnly?: boolean; keepYoungerThan?: string; depth?: string; prune: boolean; json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      if (o.depth !== undefined && !/^-?\d+$/.test(o.depth)) throw new UsageError(`--depth must be a number, not '${o.depth}'`);
      const r = prune(repo, {
        refsOnly: o.refsOnly,
        depth: o.depth !== undefined ? Number(o.depth) : undefined,
        keepYoungerThan: o.keepYoungerThan ? parseDate(o.keepYoungerThan, '--keep-younger-than') : undefined,
        dryRun: !o.prune,
        progress: terminalProgress('prune'),
      });
      if (o.json) printJson(r);
      else out(`${o.prune ? 'deleted' : 'would delete'} ${r.objectsDeleted} of ${r.total} objects (${r.commitsDeleted} commits), ${r.bytesFreed} bytes`);
    });
}
