import type { Command } from 'commander';
import { fsck } from '../../store/ops/fsck.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';
import { terminalProgress } from '../progress.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('fsck')
    .description('verify every object and that every commit is complete')
    .option('--json', 'print a JSON report')
    .action((o: { json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const r = fsck(repo, terminalProgress('fsck'));
      if (o.json) printJson({ ok: r.problems.length === 0, ...r });
      else {
        for (const p of r.problems) out(`error: ${p.message}`);
        out(`checked ${r.objects} objects, ${r.commits} commits: ${r.problems.length === 0 ? 'ok' : `${r.problems.length} problem(s)`}`);
      }
      if (r.problems.length > 0) throw new HacktreeError('FSCK_FAILED', `fsck found ${r.problems.length} problem(s)`);
    });
}
