import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { diffCommits } from '../../store/ops/diff.js';
import { openRepo } from '../context.js';
import { out, printJson } from '../output.js';
import { SizeReader } from '../../store/ops/sizes.js';
import { printStat, statEntry, statTotals, type StatEntry } from '../diff-stat.js';

export function register(program: Command): void {
  program.command('diff')
    .description('list paths added (A), deleted (D) and modified (M) between two commits')
    .argument('<from>')
    .argument('<to>')
    .option('--stat', 'with each path its size before and after, and the totals')
    .option('--json', 'print JSON')
    .action(async (from: string, to: string, o: { json?: boolean; stat?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const [a, b] = [resolveRev(repo, from), resolveRev(repo, to)];
      const d = await diffCommits(repo, a, b);
      if (!o.stat) {
        if (o.json) printJson(d);
        else for (const e of d) out(`${e.change}    ${e.path}`);
        return;
      }
      const sizes = new SizeReader(repo);
      const entries: StatEntry[] = [];
      for (const e of d) {
        entries.push(statEntry(e.change, e.path, e.change === 'A' ? null : await sizes.atPath(a, e.path), e.change === 'D' ? null : await sizes.atPath(b, e.path)));
      }
      if (o.json) printJson({ changes: entries, totals: statTotals(entries) });
      else printStat(entries);
    });
}
