import type { Command } from 'commander';
import { Repo } from '../../store/repo.js';
import { USER_MODES, type RepoMode } from '../../store/config.js';
import { UsageError } from '../../errors.js';
import { globals, repoPath } from '../context.js';
import { out } from '../output.js';

export function register(program: Command): void {
  program.command('init')
    .description('create a repository (default: bare-user at SYSROOT/repo)')
    .option('--mode <mode>', 'bare-user | bare | archive', 'bare-user')
    .action((opts: { mode: string }, cmd: Command) => {
      if (!USER_MODES.includes(opts.mode)) throw new UsageError(`--mode must be one of ${USER_MODES.join(', ')}, not '${opts.mode}'`);
      const repo = Repo.init(repoPath(globals(cmd)), opts.mode as RepoMode);
      out(`initialized ${repo.mode} repository at ${repo.path}`);
    });
}
