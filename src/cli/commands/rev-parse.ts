import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { openRepo } from '../context.js';
import { out } from '../output.js';

export function register(program: Command): void {
  program.command('rev-parse')
    .description('print the commit checksum a revision names')
    .argument('<rev>')
    .action((rev: string, _o: unknown, cmd: Command) => {
      const repo = openRepo(cmd);
      out(resolveRev(repo, rev));
    });
}
