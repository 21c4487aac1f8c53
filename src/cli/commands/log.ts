import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import type { Repo } from '../../store/repo.js';
import type { Checksum } from '../../store/checksum.js';
import type { Commit } from '../../store/objects/commit.js';
import { openRepo } from '../context.js';
import { formatDate } from '../dates.js';
import { formatBytes, out, printJson } from '../output.js';
import { SizeReader, type CommitSize, type Size } from '../../store/ops/sizes.js';
import { UsageError } from '../../errors.js';

export function commitJson(checksum: Checksum, c: Commit, size?: CommitSize | null): Record<string, unknown> {
  return {
    checksum,
    parent: c.parent,
    subject: c.subject,
    body: c.body,
    timestamp: c.timestamp,
    date: new Date(c.timestamp * 1000).toISOString(),
    rootTree: c.rootTree,
    rootMeta: c.rootMeta,
    metadata: Object.fromEntries(c.metadata.map(([k, v]) => [k, v.value])),
    ...(size !== undefined ? { size } : {}),
  };
}

/** "12.3 MB in 345 files, 1.2 MB in 12 files new": new against the parent. */
export function describeSize(s: CommitSize): string {
  const files = (x: Size): string => `${formatBytes(x.bytes)} in ${x.files} file${x.files === 1 ? '' : 's'}`;
  return `${files(s)}, ${s.new ? `${files(s.new)} new` : 'the parent is not here to compare'}`;
}

export function printCommit(checksum: Checksum, c: Commit, size?: CommitSize | null): void {
  out(`commit ${checksum}`);
  if (c.parent) out(`Parent:  ${c.parent}`);
  out(`Date:  ${formatDate(c.timestamp)}`);
  if (size !== undefined) out(`Size:  ${size ? describeSize(size) : 'unknown (objects of it are not here: a partial commit)'}`);
  for (const [k, v] of c.metadata) out(`${k}: ${typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}`);
  out('');
  if (c.subject) out(`    ${c.subject}`);
  if (c.body) { out(''); for (const l of c.body.split('\n')) out(`    ${l}`); }
  out('');
}

/** History from `start` back along parents (at most `max` commits), stopping where history was not kept. */
export function history(repo: Repo, start: Checksum, max = Infinity): Array<[Checksum, Commit]> {
  const outList: Array<[Checksum, Commit]> = [];
  for (let cur: Checksum | null = start; cur && outList.length < max && repo.hasObject(cur, 'commit');) {
    const c = repo.loadCommitSync(cur);
    outList.push([cur, c]);
    cur = c.parent;
  }
  return outList;
}

export function register(program: Command): void {
  program.command('log')
    .description('show the history of a commit')
    .argument('<rev>')
    .option('-n, --max-count <n>', 'show at most N commits')
    .option('--oneline', 'one line per commit: short checksum, date, subject')
    .option('--json', 'print JSON')
    .action(async (rev: string, o: { json?: boolean; maxCount?: string; oneline?: boolean }, cmd: Command) => {
      const max = o.maxCount === undefined ? Infinity : Number(o.maxCount);
      if (max !== Infinity && (!Number.isInteger(max) || max < 0)) throw new UsageError(`-n wants a count, not '${o.maxCount}'`);
      const repo = openRepo(cmd);
      const h = history(repo, resolveRev(repo, rev), max);
      if (o.oneline && !o.json) { for (const [k, c] of h) out(`${k.slice(0, 12)} ${formatDate(c.timestamp)} ${c.subject}`); return; }
      const sizes = new SizeReader(repo);
      const sized: Array<[Checksum, Commit, CommitSize | null]> = [];
      for (const [k, c] of h) sized.push([k, c, await sizes.measure(k)]);
      if (o.json) printJson(sized.map(([k, c, s]) => commitJson(k, c, s)));
      else for (const [k, c, s] of sized) printCommit(k, c, s);
    });
}
