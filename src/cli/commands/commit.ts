import type { Command } from 'commander';
import { commitTree } from '../../store/ops/commit.js';
import { parseRefName } from '../../store/refs.js';
import { resolveRev } from '../../store/rev.js';
import type { Metadata } from '../../store/objects/commit.js';
import { UsageError } from '../../errors.js';
import { openRepo } from '../context.js';
import { parseDate } from '../dates.js';
import { terminalProgress } from '../progress.js';
import { out, printJson, warn } from '../output.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function parseId(v: string, what: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`${what} must be a number, not '${v}'`);
  return Number(v);
}

export function register(program: Command): void {
  program.command('commit')
    .description('commit a directory tree to a branch; prints the commit checksum')
    .argument('<dir>', 'directory to commit')
    .requiredOption('-b, --branch <branch>', 'branch to commit to')
    .option('-s, --subject <subject>', 'one-line subject', '')
    .option('-m, --body <body>', 'full description', '')
    .option('--parent <rev>', "parent commit (default: the branch's current commit; 'none' for none)")
    .option('--owner-uid <uid>', 'store every file and directory as owned by this uid')
    .option('--owner-gid <gid>', 'store every file and directory as owned by this gid')
    .option('--add-metadata-string <key=value>', 'add a string to the commit metadata (repeatable)', collect, [])
    .option('--timestamp <time>', 'commit time (ISO 8601, @EPOCH); default now or $SOURCE_DATE_EPOCH')
    .option('--skip-special', 'leave out device nodes, sockets and fifos instead of failing')
    .option('--json', 'print a JSON report')
    .action((dir: string, o: Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
      const repo = openRepo(cmd);
      const metadata: Metadata = (o.addMetadataString as string[]).map((kv) => {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`--add-metadata-string wants KEY=VALUE, not '${kv}'`);
        return [kv.slice(0, eq), { type: 's', value: kv.slice(eq + 1) }];
      });
      const ts = o.timestamp as string | undefined ?? process.env.SOURCE_DATE_EPOCH;
      const parentOpt = o.parent as string | undefined;
      const result = commitTree(repo, dir, {
        branch: parseRefName(o.branch as string),
        subject: o.subject as string,
        body: o.body as string,
        parent: parentOpt === undefined ? undefined : parentOpt === 'none' ? null : resolveRev(repo, parentOpt),
        ownerUid: o.ownerUid !== undefined ? parseId(o.ownerUid as string, '--owner-uid') : undefined,
        ownerGid: o.ownerGid !== undefined ? parseId(o.ownerGid as string, '--owner-gid') : undefined,
        metadata,
        timestamp: ts !== undefined ? parseDate(ts, '--timestamp') : undefined,
        skipSpecial: !!o.skipSpecial,
        progress: terminalProgress('commit'),
      });
      if (result.skipped.length > 0) warn(`left out ${result.skipped.length} special file(s) (device nodes, sockets, fifos), e.g. ${result.skipped[0]}`);
      if (o.json) printJson(result);
      else out(result.checksum);
    });
}
