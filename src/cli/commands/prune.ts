import type { Command } from 'commander';
import { prune } from '../../store/ops/prune.js';
import { commitsRootsNeed } from '../../roots/retention.js';
import { Roots } from '../../roots/roots.js';
import { UsageError } from '../../errors.js';
import { globals, openRepo, sysrootPath } from '../context.js';
import { parseDate } from '../dates.js';
import { terminalProgress } from '../progress.js';
import { out, printJson } from '../output.js';

export function register(program: Command): void {
  program.command('prune')
    .description("delete objects no kept commit needs; roots' commits are always kept")
    .option('--refs-only', 'keep only commits reachable from refs')
    .option('--keep-younger-than <date>', 'drop commits older than this (ref heads are kept)')
    .option('--depth <n>', 'keep at most N parents behind each ref')
    .option('--dry-run', 'only report what would be deleted and kept')
    .option('--no-prune', 'the same as --dry-run (as ostree names it)')
    .option('--json', 'print JSON')
    .action((o: { refsOnly?: boolean; keepYoungerThan?: string; depth?: string; dryRun?: boolean; prune: boolean; json?: boolean }, cmd: Command) => {
      if (o.depth !== undefined && !/^-?\d+$/.test(o.depth)) throw new UsageError(`--depth must be a number, not '${o.depth}'`);
      const keepYoungerThan = o.keepYoungerThan ? parseDate(o.keepYoungerThan, '--keep-younger-than') : undefined;
      const repo = openRepo(cmd);
      const r = prune(repo, {
        refsOnly: o.refsOnly,
        depth: o.depth !== undefined ? Number(o.depth) : undefined,
        keepYoungerThan,
        keep: () => commitsRootsNeed(new Roots(sysrootPath(globals(cmd)))),
        dryRun: o.dryRun || !o.prune,
        progress: terminalProgress('prune'),
      });
      if (o.json) { printJson(r); return; }
      for (const k of r.kept) out(`keeping ${k.commit.slice(0, 12)}: ${k.reasons.join('; ')}`);
      const [del, free] = r.dryRun ? ['would delete', 'free'] : ['deleted', 'freed'];
      out(`${del} ${r.objectsDeleted} of ${r.total} objects (${r.commitsDeleted} commits) and ${free} ${r.bytesFreed} bytes`);
    });
}
