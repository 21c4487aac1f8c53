import type { Command } from 'commander';
import { pull } from '../../store/ops/pull.js';
import { LocalSource } from '../../store/remote/source.js';
import { checkRefName } from '../../store/refs.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';
import { terminalProgress } from '../progress.js';
import { printPullResult } from './pull-output.js';
import { parseDepth } from './pull.js';

export function register(program: Command): void {
  program.command('pull-local')
    .description('copy branches (all if none named) from another repository on this machine, verifying every object')
    .argument('<src-repo>', 'path of the source repository')
    .argument('[refs...]', 'branches to copy (written to the same names here)')
    .option('--depth <n>', 'parents to copy too (-1: all history)', '0')
    .option('--json', 'print a JSON report')
    .action(async (srcPath: string, refs: string[], o: { depth: string; json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const depth = parseDepth(o.depth);
      for (const r of refs) checkRefName(r);
      const src = new LocalSource(srcPath);
      try {
        const targets = refs.length > 0
          ? await Promise.all(refs.map(async (name) => {
            const commit = await src.ref(name);
            if (!commit) throw new HacktreeError('NOT_FOUND', `${src.label} has no branch '${name}'`);
            return { name, commit };
          }))
          : await src.branches();
        const result = await pull(repo, src, targets.map((t) => ({ ref: { remote: null, name: t.name }, commit: t.commit })), { depth, progress: terminalProgress('pull-local') });
        printPullResult(targets.map((t) => ({ ref: t.name, commit: t.commit })), result, !!o.json);
      } finally {
        src.close();
        repo.close();
      }
    });
}
