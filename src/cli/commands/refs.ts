import type { Command } from 'commander';
import { listRefs, formatRef, deleteRef, parseRefName } from '../../store/refs.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('refs')
    .description('list refs (branches and REMOTE:BRANCH)')
    .option('--delete <ref>', 'delete a ref (its commits stay until prune)')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean; delete?: string }, cmd: Command) => {
      const repo = openRepo(cmd);
      if (o.delete) {
        if (!deleteRef(repo.path, parseRefName(o.delete), repo.durable)) throw new HacktreeError('NOT_FOUND', `no ref '${o.delete}'`);
        return;
      }
      const refs = listRefs(repo.path);
      if (o.json) printJson(refs.map(({ ref, checksum }) => ({ ref: formatRef(ref), remote: ref.remote, name: ref.name, checksum })));
      else for (const { ref } of refs) out(formatRef(ref));
    });
}
