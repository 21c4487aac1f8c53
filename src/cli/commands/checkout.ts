import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { checkout } from '../../store/ops/checkout.js';
import { openRepo } from '../context.js';
import { terminalProgress } from '../progress.js';

export function register(program: Command): void {
  program.command('checkout')
    .description('check a commit out into a new directory (hardlinks where the object store allows)')
    .argument('<rev>')
    .argument('<dir>')
    .option('-U, --user-mode', 'files owned by you, no setuid/setgid or xattrs (like ostree checkout -U)')
    .option('--subpath <path>', 'check out only this path of the commit')
    .action((rev: string, dir: string, o: { userMode?: boolean; subpath?: string }, cmd: Command) => {
      const repo = openRepo(cmd);
      checkout(repo, resolveRev(repo, rev), dir, { userMode: !!o.userMode, subpath: o.subpath, progress: terminalProgress('checkout') });
    });
}
