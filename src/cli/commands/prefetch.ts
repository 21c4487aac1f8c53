import type { Command } from 'commander';
import { prefetch } from '../../store/ops/prefetch.js';
import { lazyCommit, lazyFetcher } from '../../store/remote/lazy-commit.js';
import { remoteBranchOf } from '../../store/remote/remote-branch.js';
import { isPartial } from '../../store/layout.js';
import { UsageError } from '../../errors.js';
import { openRepo, parseSeconds } from '../context.js';
import { out, printJson } from '../output.js';
import { terminalProgress } from '../progress.js';

export function register(program: Command): void {
  program.command('prefetch')
    .description('fetch subtrees of a remote commit ahead of a lazy mount\'s reads (all of it without PATHs)')
    .argument('<remote:branch>', 'a configured remote\'s branch')
    .argument('[paths...]', 'subtrees to fetch, e.g. /usr/bin /etc')
    .option('--fetch-timeout <seconds>', 'give up on an object the remote does not deliver within this time', '60')
    .option('--json', 'print a JSON report')
    .action(async (rev: string, paths: string[], o: { fetchTimeout: string; json?: boolean }, cmd: Command) => {
      const timeoutMs = parseSeconds(o.fetchTimeout, '--fetch-timeout');
      const repo = openRepo(cmd);
      try {
        const rb = remoteBranchOf(repo, rev);
        if (!rb) throw new UsageError(`prefetch takes REMOTE:BRANCH of a configured remote, not '${rev}' (see \`hacktree remote list\`)`);
        const commit = await lazyCommit(repo, rb.remote, rb.branch);
        const fetcher = isPartial(repo.path, commit) ? lazyFetcher(repo, rb.remote, timeoutMs) : null;
        repo.fetcher = fetcher;
        let result;
        try {
          result = await prefetch(repo, commit, paths, terminalProgress('prefetch'));
        } finally {
          await fetcher?.close();
        }
        const fetched = fetcher?.stats ?? { objects: 0, bytes: 0 };
        if (o.json) printJson({ commit, paths: paths.length > 0 ? paths : ['/'], objects: result.objects, fetched: fetched.objects, bytes: fetched.bytes, complete: result.complete, seconds: result.seconds });
        else out(`${commit}: the subtrees hold ${result.objects} objects, ${fetched.objects} fetched now (${(fetched.bytes / 1e6).toFixed(1)} MB) in ${result.seconds.toFixed(1)} s; the commit is ${result.complete ? 'complete' : 'still partial'}`);
      } finally {
        repo.close();
      }
    });
}
