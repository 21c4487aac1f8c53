import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { diffCommits } from '../../store/ops/diff.js';
import { openRepo } from '../context.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('diff')
    .description('list paths added (A), deleted (D) and modified (M) between two commits')
    .argument('<from>')
    .argument('<to>')
    .option('--json', 'print JSON')
    .action(async (from: string, to: string, o: { json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const d = await diffCommits(repo, resolveRev(repo, from), resolveRev(repo, to));
      if (o.json) printJson(d);
      else for (const e of d) out(`${e.change}    ${e.path}`);
    });
}
