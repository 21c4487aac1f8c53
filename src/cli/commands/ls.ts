import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { lookupPath, walkTree, splitPath, type Visited } from '../../store/tree-walk.js';
import { isDir, isLnk } from '../../store/objects/types.js';
import { openRepo } from '../context.js';
import { out, printJson } from '../output.js';

interface LsOpts { recursive?: boolean; checksum?: boolean; xattrs?: boolean; json?: boolean }

function typeChar(mode: number): string {
  return isDir(mode) ? 'd' : isLnk(mode) ? 'l' : '-';
}

function line(v: Visited, o: LsOpts): string {
  const mode = v.meta.mode;
  const size = v.kind === 'file' ? v.size : 0;
  let s = `${typeChar(mode)}0${(mode & 0o7777).toString(8).padStart(4, '0')} ${v.meta.uid} ${v.meta.gid} ${String(size).padStart(6)} `;
  if (o.checksum) s += v.kind === 'dir' ? `${v.entry.tree} ${v.entry.meta} ` : `${v.entry.checksum} `;
  if (o.xattrs) s += `{ ${v.meta.xattrs.map(([n, x]) => `${n}=${x.toString('hex')}`).join(', ')} } `;
  s += v.path;
  if (v.kind === 'file' && isLnk(mode)) s += ` -> ${v.meta.symlinkTarget}`;
  return s;
}

function json(v: Visited): Record<string, unknown> {
  return {
    path: v.path,
    type: isDir(v.meta.mode) ? 'dir' : isLnk(v.meta.mode) ? 'symlink' : 'file',
    mode: v.meta.mode & 0o7777,
    uid: v.meta.uid,
    gid: v.meta.gid,
    size: v.kind === 'file' ? v.size : 0,
    ...(v.kind === 'dir' ? { tree: v.entry.tree, meta: v.entry.meta } : { checksum: v.entry.checksum }),
    ...(v.kind === 'file' && isLnk(v.meta.mode) ? { target: v.meta.symlinkTarget } : {}),
    xattrs: Object.fromEntries(v.meta.xattrs.map(([n, x]) => [n, x.toString('hex')])),
  };
}

export function register(program: Command): void {
  program.command('ls')
    .description('list a path in a commit')
    .argument('<rev>')
    .argument('[path]', 'path inside the commit', '/')
    .option('-R, --recursive', 'list recursively')
    .option('-C, --checksum', 'print checksums')
    .option('-X, --xattrs', 'print extended attributes')
    .option('--json', 'print JSON')
    .action(async (rev: string, path: string, o: LsOpts, cmd: Command) => {
      const repo = openRepo(cmd);
      const commit = resolveRev(repo, rev);
      const list: Record<string, unknown>[] = [];
      const start = await lookupPath(repo, commit, path);
      const norm = '/' + splitPath(path).join('/');
      for await (const v of walkTree(repo, start, norm, o.recursive ? Infinity : 1)) {
        if (o.json) list.push(json(v));
        else out(line(v, o));
      }
      if (o.json) printJson(list);
    });
}
