import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { openRepo } from '../context.js';
import { printJson } from '../output.js';
import { SizeReader } from '../../store/ops/sizes.js';
import { commitJson, printCommit } from './log.js';

export function register(program: Command): void {
  program.command('show')
    .description('show one commit')
    .argument('<rev>')
    .option('--json', 'print JSON')
    .action(async (rev: string, o: { json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const csum = resolveRev(repo, rev);
      const c = repo.loadCommitSync(csum);
      const size = await new SizeReader(repo).measure(csum);
      if (o.json) printJson(commitJson(csum, c, size));
      else printCommit(csum, c, size);
    });
}
