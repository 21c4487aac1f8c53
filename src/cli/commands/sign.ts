import type { Command } from 'commander';
import { signCommit } from '../../store/ops/sign.js';
import { resolveRev } from '../../store/rev.js';
import { openRepo } from '../context.js';
import { out } from '../output.js';

export function register(program: Command): void {
  program.command('sign')
    .description('sign a commit with ed25519 (as `ostree sign --sign-type=ed25519 --keys-file=F`)')
    .argument('<rev>', 'commit to sign')
    .requiredOption('--keyfile <file>', 'file of base64 ed25519 secret keys (64 bytes: seed and public key), one per line')
    .action((rev: string, o: { keyfile: string }, cmd: Command) => {
      const repo = openRepo(cmd);
      const commit = resolveRev(repo, rev);
      const added = signCommit(repo, commit, o.keyfile);
      out(`${commit}: ${added} signature(s) added`);
    });
}
