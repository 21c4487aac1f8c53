// The command line documents itself from its own definitions: help, the man page and
// the completion scripts name the same commands and options.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { HACKTREE, ht, htOk, ROOT } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

/** The commands `hacktree --help` lists. */
const helpCommands = (): string[] => {
  const help = htOk(['--help']);
  return [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
};

/** Completion of the words `words` (the last one being completed), by the bash script. */
async function bashComplete(words: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const script = `hacktree() { ${HACKTREE} "$@"; }
source <(${HACKTREE} completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_hacktree; printf '%s\\n' "\${COMPREPLY[@]}"`;
  // Asynchronously: the worker must keep answering vitest while the shells run.
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env } }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })));
  });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('man page', () => {
  it('man/hacktree.1 is what `hacktree man` prints (regenerate it with `bin/hacktree man > man/hacktree.1`)', () => {
    expect(htOk(['man'])).toBe(fs.readFileSync(join(ROOT, 'man', 'hacktree.1'), 'utf8'));
  });

  it('documents every command help lists, with its options, and renders without warnings', () => {
    const page = htOk(['man']);
    const plain = page.replace(/\\-/g, '-');
    for (const c of helpCommands()) expect(plain).toMatch(new RegExp(`^\\.SS hacktree ${c}\\b`, 'm'));
    expect(page).toMatch(/^\.SS hacktree root upgrade NAME \[REV\]$/m);
    expect(page).toContain('\\-\\-dry\\-run');
    const r = spawnSync('sh', ['-c', `${HACKTREE} man | MANWIDTH=80 man --warnings -l - 2>&1 >/dev/null`], { encoding: 'utf8' });
    expect(r.stdout).toBe('');
  });

  it('help lists boot and status', () => {
    expect(helpCommands()).toEqual(expect.arrayContaining(['boot', 'status', 'completion', 'man']));
  });
});

describe('completion', () => {
  it('bash: commands, subcommands, options and choices', async () => {
    expect(await bashComplete(['hacktree', 'ro'])).toEqual(['root']);
    expect(await bashComplete(['hacktree', '--repo', '/x', 'root', 'up'])).toEqual(['upgrade']);
    expect(await bashComplete(['hacktree', 'root', 'upgrade', '--d'])).toEqual(['--dry-run']);
    expect(await bashComplete(['hacktree', 'log', '--'])).toEqual(expect.arrayContaining(['--oneline', '--max-count', '--json', '--repo']));
    expect(await bashComplete(['hacktree', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('bash: revisions from the repository named on the command line', async () => {
    const s = scratch();
    try {
      const repo = join(s.dir, 'repo');
      fs.mkdirSync(join(s.dir, 'src'));
      htOk(['--repo', repo, 'init']);
      htOk(['--repo', repo, 'commit', '-b', 'stable', join(s.dir, 'src')]);
      htOk(['--repo', repo, 'commit', '-b', 'testing', join(s.dir, 'src')]);
      expect(await bashComplete(['hacktree', '--repo', repo, 'show', 'st'])).toEqual(['stable']);
      expect((await bashComplete(['hacktree', 'log', ''], { HACKTREE_REPO: repo })).sort()).toEqual(['stable', 'testing']);
    } finally {
      s.cleanup();
    }
  });

  it('zsh: a script zsh reads, naming the same commands', () => {
    const z = htOk(['completion', 'zsh']);
    expect(z.split('\n')[0]).toBe('#compdef hacktree');
    expect(z).toContain("'upgrade:move the root to REV");
    if (spawnSync('sh', ['-c', 'command -v zsh']).status === 0) {
      const r = spawnSync('zsh', ['-n'], { input: z, encoding: 'utf8' });
      expect(r.stderr).toBe('');
    }
  });

  it('an unknown shell is a usage error', () => {
    const r = ht(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hacktree: .*'fish'.*bash, zsh/);
  });
});
