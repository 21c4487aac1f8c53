import type { Command } from 'commander';
import { listCommit, publishPrefetch } from '../../store/ops/publish-prefetch.js';
import { openRepo } from '../context.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('prefetch-publish')
    .description("publish a machine's prefetch list in this (archive, served) repository, with a pack of its objects that a lazy mount fetches in one request")
    .argument('<list>', "a prefetch list a lazy mount recorded: REPO/hacktree/prefetch/COMMIT.list on that machine")
    .option('--commit <checksum>', 'the commit the list is for (default: from the file name)')
    .option('--json', 'print a JSON report')
    .action((listFile: string, o: { commit?: string; json?: boolean }, cmd: Command) => {
      const commit = listCommit(listFile, o.commit);
      const repo = openRepo(cmd);
      try {
        const r = publishPrefetch(repo, listFile, commit);
        if (o.json) printJson(r);
        else out(`${commit}: published a prefetch list of ${r.listed} objects and their pack (${r.packed} objects, ${(r.packBytes / 1e6).toFixed(1)} MB)${r.missing ? `; ${r.missing} the repository lacks were left out` : ''}`);
      } finally {
        repo.close();
      }
    });
}
