// The command line's definitions: every command, the global options, and how an
// error is printed. main.ts runs them; completion and man read them.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { CommandEntry } from './command-entry.js';
import { distUrl } from '../dist-paths.js';

// In the order help lists them. Only the command named on the command line is loaded: loading
// every command's modules (FUSE among them) took ~0.1 s, which each short command paid.
const COMMANDS: CommandEntry[] = [
  ['init', () => import('./commands/init.js')],
  ['commit', () => import('./commands/commit.js')],
  ['log', () => import('./commands/log.js')],
  ['show', () => import('./commands/show.js')],
  ['refs', () => import('./commands/refs.js')],
  ['rev-parse', () => import('./commands/rev-parse.js')],
  ['ls', () => import('./commands/ls.js')],
  ['cat', () => import('./commands/cat.js')],
  ['diff', () => import('./commands/diff.js')],
  ['checkout', () => import('./commands/checkout.js')],
  ['fsck', () => import('./commands/fsck.js')],
  ['prune', () => import('./commands/prune.js')],
  ['reindex', () => import('./commands/reindex.js')],
  // moving commits between repositories
  ['remote', () => import('./commands/remote.js')],
  ['pull', () => import('./commands/pull.js')],
  ['pull-local', () => import('./commands/pull-local.js')],
  ['summary', () => import('./commands/summary.js')],
  ['sign', () => import('./commands/sign.js')],
  // the layers above the store: mounting, roots, layers
  ['mount', () => import('./commands/mount.js')],
  ['umount', () => import('./commands/umount.js')],
  ['mounts', () => import('./commands/mounts.js')],
  ['prefetch', () => import('./commands/prefetch.js')],
  ['prefetch-publish', () => import('./commands/prefetch-publish.js')],
  ['root', () => import('./commands/root.js')],
  ['layer', () => import('./commands/layer.js')],
  ['enter', () => import('./commands/enter.js')],
  ['boot', () => import('./commands/boot.js')],
  ['status', () => import('./commands/status.js')],
  // about hacktree itself
  ['completion', () => import('./commands/completion.js')],
  ['man', () => import('./commands/man.js')],
];

/** Global options that take a value (as bin/hacktree also knows them). */
const VALUED = new Set(['--repo', '--sysroot', '--fsync']);

/** The command word of `argv`, if any: the first argument that is neither an option nor a global option's value. */
function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (VALUED.has(a)) { i++; continue; }
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The package's version (dist/ → ../package.json). */
export function version(): string {
  try {
    return (JSON.parse(readFileSync(distUrl('../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The program with the command `argv` names, or with every command (help, an unknown name). */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('hacktree')
    .description('keep OS roots as commits in an OSTree-compatible store, and mount any of them at once')
    .option('--repo <path>', 'repository (default $HACKTREE_REPO or SYSROOT/repo)')
    .option('--sysroot <path>', 'hacktree state: repo and roots (default $HACKTREE_SYSROOT or /var/lib/hacktree)')
    .option('--fsync <bool>', 'sync objects and refs to disk before reporting success (default true)')
    .version(`hacktree ${version()}`, '--version', 'print the version')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (msg, write) => write(errorLine('USAGE', msg.replace(/^error: /, '').trim(), wantsJson(argv))) })
    .exitOverride();
  const word = commandWord(argv);
  const wanted = COMMANDS.some(([name]) => name === word) ? COMMANDS.filter(([name]) => name === word) : COMMANDS;
  for (const m of await Promise.all(wanted.map(([, load]) => load()))) m.register(program);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/**
 * A command that only groups others (root, layer, remote) named without one of them: a usage
 * mistake, told in one line (commander would print the whole help and call it a success).
 */
export function missingSubcommand(program: Command, argv: string[]): string | null {
  const word = commandWord(argv);
  const cmd = program.commands.find((c) => c.name() === word);
  if (!cmd || cmd.commands.length === 0 || argv.some((a) => a === '-h' || a === '--help')) return null;
  const rest = argv.slice(argv.indexOf(word!) + 1);
  if (rest.some((a) => !a.startsWith('-'))) return null;
  return `'${word}' needs a command: ${cmd.commands.map((c) => c.name()).join(', ')} (see \`hacktree ${word} --help\`)`;
}

/** Whether the command asked for JSON: then its errors are JSON too. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The one line an error prints on stderr: `hacktree: MESSAGE`, or `{"error":{"code":..,"message":..}}` under --json. */
export function errorLine(code: string, message: string, json: boolean): string {
  return json ? `${JSON.stringify({ error: { code, message } })}\n` : `hacktree: ${message}\n`;
}

