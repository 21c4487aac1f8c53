import type { Command } from 'commander';
import { reindex } from '../../store/ops/reindex.js';
import { openRepo } from '../context.js';
import { terminalProgress } from '../progress.js';
import { out, printJson, warn } from '../output.js';

export function register(program: Command): void {
  program.command('reindex')
    .description('rebuild the index by content from the objects')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const r = reindex(repo, terminalProgress('reindex'));
      for (const s of r.skipped) warn(`not indexed: ${s.checksum}: ${s.message}`);
      if (o.json) printJson(r);
      else out(`indexed ${r.indexed} content objects`);
    });
}
