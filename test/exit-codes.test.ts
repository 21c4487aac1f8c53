// Every command's failure paths, as one table: a failure at run time exits 1, a usage
// mistake 2; either prints exactly one line on stderr and no stack; with --json, that
// line is JSON with the same code. (bad-input.test.ts covers hostile conditions.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { htAsync, htOk } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const s = scratch('hacktree-exit-');
const sysroot = join(s.dir, 'sys');
const src = join(s.dir, 'src');
const nothing = join(s.dir, 'nothing');

/** args; exit code; what the message says; whether the command takes --json. */
type Row = [args: string[], code: 1 | 2, message: RegExp, json?: 'json'];

const TABLE: Row[] = [
  [['init'], 1, /a repository already exists/],
  [['init', '--mode', 'zip'], 2, /--mode must be one of/],
  [['commit', src], 2, /required option '-b, --branch/, 'json'],
  [['commit', '-b', 'main', nothing], 1, /no such directory/, 'json'],
  [['commit', '-b', 'main', '--timestamp', 'soon', src], 2, /--timestamp: cannot read 'soon' as a date/, 'json'],
  [['log', 'nosuch'], 1, /unknown revision 'nosuch'/, 'json'],
  [['log', '-n', 'x', 'main'], 2, /-n wants a count/, 'json'],
  [['log', 'main~5'], 1, /unknown revision 'main~5': commit \w+ has no parent/, 'json'],
  [['show', 'nosuch'], 1, /unknown revision/, 'json'],
  [['refs', '--delete', 'nosuch'], 1, /no ref 'nosuch'/, 'json'],
  [['refs', '--delete', '../x'], 2, /invalid ref name/, 'json'],
  [['rev-parse'], 2, /missing required argument 'rev'/],
  [['rev-parse', 'nosuch'], 1, /unknown revision/],
  [['ls', 'main', '/nope'], 1, /no such file or directory/, 'json'],
  [['ls', 'main', '../x'], 2, /must not contain '\.\.'/, 'json'],
  [['cat', 'main', '/'], 1, /\/ is a directory/],
  [['cat', 'main'], 2, /missing required argument 'path'/],
  [['diff', 'main', 'nosuch'], 1, /unknown revision 'nosuch'/, 'json'],
  [['diff', '--stat', 'main'], 2, /missing required argument 'to'/, 'json'],
  [['checkout', 'main', src], 1, /already exists/],
  [['fsck', '--bogus'], 2, /unknown option '--bogus'/, 'json'],
  [['prune', '--depth', 'x'], 2, /--depth must be a number/, 'json'],
  [['prune', '--keep-younger-than', 'whenever'], 2, /cannot read 'whenever' as a date/, 'json'],
  [['reindex', '--bogus'], 2, /unknown option/, 'json'],
  [['remote', 'add', 'o', 'ftp://x'], 2, /not http:\/\/ or https:\/\//],
  [['remote', 'delete', 'nosuch'], 1, /no remote 'nosuch'/],
  [['remote'], 2, /'remote' needs a command: add, list, delete/],
  [['pull', 'nosuch'], 1, /no remote 'nosuch'/, 'json'],
  [['pull', 'o', '--depth', 'deep'], 2, /--depth wants a number/, 'json'],
  [['pull-local', nothing], 1, /no hacktree\/ostree repository at/, 'json'],
  [['summary'], 1, /only -u \(update\) is supported/],
  [['sign', 'main'], 2, /required option '--keyfile/],
  [['sign', 'main', '--keyfile', nothing], 1, /cannot read key file/],
  [['mount', 'nosuch', s.dir], 1, /unknown revision 'nosuch'/],
  [['mount', 'main', nothing], 1, /mountpoint .* does not exist/],
  [['mount', '-o', 'verify=some', 'main', s.dir], 2, /-o verify takes 'all' or 'none'/],
  [['mount', '--fetch-timeout', '0', 'main', s.dir], 2, /--fetch-timeout takes a positive number of seconds/],
  [['umount', s.dir], 1, /is not mounted/],
  [['prefetch', 'main'], 2, /prefetch takes REMOTE:BRANCH of a configured remote/, 'json'],
  [['prefetch', 'o:main', '--fetch-timeout', 'x'], 2, /--fetch-timeout takes a positive number/, 'json'],
  [['prefetch-publish', nothing], 2, /cannot tell which commit .*nothing is for: name it COMMIT.list or give --commit/, 'json'],
  [['prefetch-publish', nothing, '--commit', 'a'.repeat(64)], 2, /is a bare-user repository: a prefetch pack is published from the archive repository a server serves/, 'json'],
  [['mounts', '--bogus'], 2, /unknown option/, 'json'],
  [['root', 'create', 'r', 'main'], 1, /a root named 'r' exists already/],
  [['root', 'create', 'b@d', 'main'], 2, /invalid root name 'b@d'/],
  [['root', 'create', 'new', 'nosuch'], 1, /unknown revision 'nosuch'/],
  [['root', 'list', '--bogus'], 2, /unknown option/, 'json'],
  [['root', 'show', 'nosuch'], 1, /no root named 'nosuch'/, 'json'],
  [['root', 'mount', 'nosuch'], 1, /no root named 'nosuch'/],
  [['root', 'upgrade', 'nosuch'], 1, /no root named 'nosuch'/, 'json'],
  [['root', 'upgrade', 'r'], 1, /root 'r' already runs \w+ \(the head of main\)/, 'json'],
  [['root', 'upgrade', 'r', 'nosuch'], 1, /unknown revision 'nosuch'/, 'json'],
  [['root', 'upgrade', '--dry-run', 'nosuch'], 1, /no root named 'nosuch'/, 'json'],
  [['root', 'rollback', 'r'], 1, /no previous commit to roll back to/],
  [['root', 'rollback', 'nosuch'], 1, /no root named 'nosuch'/],
  [['root', 'config', 'r', '--keep', '0'], 2, /--keep must be a whole number/, 'json'],
  [['root', 'history', 'nosuch'], 1, /no root named/, 'json'],
  [['root', 'umount', 'r'], 1, /root 'r' is not mounted/],
  [['root', 'remove', 'nosuch'], 1, /no root named/],
  [['root', 'frobnicate'], 2, /unknown command 'frobnicate'/],
  [['root'], 2, /'root' needs a command: create, list/],
  [['layer', 'diff', 'nosuch'], 1, /no root named/, 'json'],
  [['layer', 'commit', 'r'], 2, /required option '-b, --branch/, 'json'],
  [['layer', 'commit', 'nosuch', '-b', 'x'], 1, /no root named/, 'json'],
  [['layer', 'reset', 'nosuch'], 1, /no root named/],
  [['layer'], 2, /'layer' needs a command: diff, commit, reset/],
  [['enter', 'nosuch'], 1, /no root named/],
  [['status', '--bogus'], 2, /unknown option/, 'json'],
  [['completion', 'fish'], 2, /'fish'.*bash, zsh/],
  [['man', 'extra'], 2, /too many arguments/],
  [['frobnicate'], 2, /unknown command 'frobnicate'/],
];

beforeAll(() => {
  fs.mkdirSync(src);
  fs.writeFileSync(join(src, 'f'), 'f\n');
  htOk(['--sysroot', sysroot, 'init']);
  htOk(['--sysroot', sysroot, 'commit', '-b', 'main', src]);
  htOk(['--sysroot', sysroot, 'root', 'create', 'r', 'main']);
  htOk(['--sysroot', sysroot, 'remote', 'add', 'o', 'http://example.invalid/repo']);
});

afterAll(() => s.cleanup());

describe('exit codes and error lines of every command', () => {
  it('covers every command help lists', () => {
    const help = htOk(['--help']);
    const commands = [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!);
    // boot runs as a shell script (scripts/hacktree-boot) before node starts.
    const untested = commands.filter((c) => c !== 'help' && c !== 'boot' && !TABLE.some(([a]) => a[0] === c));
    expect(untested).toEqual([]);
  });

  // Spawned asynchronously: a worker blocked in spawnSync for the whole table misses vitest's RPC deadline.
  it.each(TABLE.map((r) => [r[0].join(' '), r] as const))('%s', async (_name, [args, code, message, json]) => {
    const r = await htAsync(['--sysroot', sysroot, ...args]);
    expect(r.code, r.stderr).toBe(code);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hacktree: /);
    expect(lines[0]).toMatch(message);
    if (!json) return;
    const j = await htAsync(['--sysroot', sysroot, ...args, '--json']);
    expect(j.code).toBe(code);
    const jl = j.stderr.split('\n').filter(Boolean);
    expect(jl).toHaveLength(1);
    const e = (JSON.parse(jl[0]!) as { error: { code: string; message: string } }).error;
    expect(e.message).toMatch(message);
    expect(e.code === 'USAGE').toBe(code === 2);
    expect(j.stdout).toBe('');
  });
});
