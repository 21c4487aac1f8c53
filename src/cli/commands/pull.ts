import type { Command } from 'commander';
import { pull } from '../../store/ops/pull.js';
import { HttpSource } from '../../store/remote/source.js';
import { getRemote, trustedKeys } from '../../store/remote/remotes.js';
import { checkRefName } from '../../store/refs.js';
import { HacktreeError, UsageError } from '../../errors.js';
import { openRepo } from '../context.js';
import { terminalProgress } from '../progress.js';
import { printPullResult } from './pull-output.js';

export function parseDepth(v: string): number {
  if (!/^-?\d+$/.test(v) || Number(v) < -1) throw new UsageError(`--depth wants a number of parents (-1 for all), not '${v}'`);
  return Number(v);
}

export function register(program: Command): void {
  program.command('pull')
    .description('pull branches of a remote into refs/remotes/REMOTE/ (all branches of its summary if none named)')
    .argument('<remote>', 'remote name (see `hacktree remote add`)')
    .argument('[branches...]', 'branches to pull')
    .option('--depth <n>', 'parents to pull too (-1: all history)', '0')
    .option('--json', 'print a JSON report')
    .action(async (name: string, branches: string[], o: { depth: string; json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const remote = getRemote(repo, name);
      const keys = trustedKeys(remote);
      const depth = parseDepth(o.depth);
      for (const b of branches) checkRefName(b);
      const src = new HttpSource(name, remote.url);
      try {
        await src.check();
        const targets = branches.length > 0
          ? await Promise.all(branches.map(async (b) => {
            const commit = await src.ref(b);
            if (!commit) throw new HacktreeError('NOT_FOUND', `remote '${name}' has no branch '${b}' (${remote.url})`);
            return { name: b, commit };
          }))
          : await src.branches();
        for (const t of targets) {
          try { checkRefName(t.name); } catch { throw new HacktreeError('BAD_SOURCE', `remote '${name}' publishes an invalid branch name ${JSON.stringify(t.name)}`); }
        }
        const result = await pull(repo, src, targets.map((t) => ({ ref: { remote: name, name: t.name }, commit: t.commit })), {
          depth, verify: remote.verify ? { keys, remote: name } : null, progress: terminalProgress('pull'),
        });
        printPullResult(targets.map((t) => ({ ref: `${name}:${t.name}`, commit: t.commit })), result, !!o.json);
      } finally {
        src.close();
        repo.close();
      }
    });
}
