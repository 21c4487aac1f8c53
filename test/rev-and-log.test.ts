// REV's ancestry suffixes, log -n / --oneline and --version, through the real CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { ht, htOk } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const s = scratch('hacktree-rev-');
const repo = join(s.dir, 'repo');
const H = (...args: string[]) => htOk(['--repo', repo, ...args]).trim();
const commits: string[] = [];

beforeAll(() => {
  fs.mkdirSync(join(s.dir, 'src'));
  H('init');
  for (const n of ['one', 'two', 'three']) {
    fs.writeFileSync(join(s.dir, 'src', 'f'), n);
    commits.push(H('commit', '-b', 'os', '-s', n, '--timestamp', '@1700000000', join(s.dir, 'src')));
  }
});
afterAll(() => s.cleanup());

describe('REV', () => {
  it('takes ^, ^0, ~ and ~N, also combined, as git does', () => {
    expect(H('rev-parse', 'os^0')).toBe(commits[2]);
    expect(H('rev-parse', 'os^')).toBe(commits[1]);
    expect(H('rev-parse', 'os~')).toBe(commits[1]);
    expect(H('rev-parse', 'os~2')).toBe(commits[0]);
    expect(H('rev-parse', 'os^^')).toBe(commits[0]);
    expect(H('rev-parse', 'os~1^')).toBe(commits[0]);
    expect(H('rev-parse', `${commits[2]!.slice(0, 8)}~2`)).toBe(commits[0]);
  });

  it('says why an ancestor does not exist, exit 1', () => {
    const past = ht(['--repo', repo, 'rev-parse', 'os~3']);
    expect([past.code, past.stderr.trim()]).toEqual([1, `hacktree: unknown revision 'os~3': commit ${commits[0]!.slice(0, 12)} has no parent`]);
    const second = ht(['--repo', repo, 'rev-parse', 'os^2']);
    expect([second.code, second.stderr.trim()]).toEqual([1, "hacktree: unknown revision 'os^2': an OSTree commit has one parent, not 2"]);
  });
});

describe('log', () => {
  it('-n N shows the first N commits; --oneline one line each', () => {
    expect(H('log', '--oneline', 'os').split('\n')).toEqual(
      ['three', 'two', 'one'].map((subj, i) => `${commits[2 - i]!.slice(0, 12)} 2023-11-14 22:13:20 +0000 ${subj}`));
    expect(H('log', '--oneline', '-n', '2', 'os~1').split('\n').map((l) => l.slice(0, 12))).toEqual([commits[1]!.slice(0, 12), commits[0]!.slice(0, 12)]);
    expect(JSON.parse(H('log', '--json', '--max-count', '1', 'os')).map((c: { checksum: string }) => c.checksum)).toEqual([commits[2]]);
    expect(H('log', '-n', '0', 'os')).toBe('');
  });

  it('refuses a count that is not one, exit 2', () => {
    const r = ht(['--repo', repo, 'log', '-n', 'x', 'os']);
    expect([r.code, r.stderr.trim()]).toEqual([2, "hacktree: -n wants a count, not 'x'"]);
  });
});

describe('--version', () => {
  it('prints the package version and exits 0', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = ht(['--version']);
    expect([r.code, r.stdout.trim()]).toEqual([0, `hacktree ${pkg.version}`]);
  });
});
