import type { Command } from 'commander';
import { updateSummary } from '../../store/ops/summary.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';
import { out } from '../output.js';

export function register(program: Command): void {
  program.command('summary')
    .description("publish: write ostree's summary file and the content maps of the branches' commits")
    .option('-u, --update', 'update the summary (and write missing content maps)')
    .action(async (o: { update?: boolean }, cmd: Command) => {
      if (!o.update) throw new HacktreeError('UNSUPPORTED', 'summary: only -u (update) is supported');
      const repo = openRepo(cmd);
      try {
        const r = await updateSummary(repo);
        out(`summary: ${r.refs} branch(es); ${r.mapsWritten} content map(s) written`);
      } finally {
        repo.close();
      }
    });
}
