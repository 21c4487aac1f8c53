// hacktree's command line: one thin file per command under commands/.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { HacktreeError } from '../errors.js';
import type { CommandEntry } from './command-entry.js';

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
  ['root', () => import('./commands/root.js')],
  ['layer', () => import('./commands/layer.js')],
  ['enter', () => import('./commands/enter.js')],
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

export const EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2;

/** The package's version (dist/cli/main.js → ../../package.json). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
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

/** Whether the command asked for JSON: then its errors are JSON too. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The one line an error prints on stderr: `hacktree: MESSAGE`, or `{"error":{"code":..,"message":..}}` under --json. */
function errorLine(code: string, message: string, json: boolean): string {
  return json ? `${JSON.stringify({ error: { code, message } })}\n` : `hacktree: ${message}\n`;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv, { from: 'user' });
    // A command that passes on another program's exit code (enter) sets it.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    return reportError(e, wantsJson(argv));
  }
}

function reportError(e: unknown, json: boolean): number {
  if (e instanceof CommanderError) {
    // commander has printed its message already; help and version are not failures.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
    return EXIT_USAGE;
  }
  const debug = process.env.HACKTREE_DEBUG === '1';
  if (e instanceof HacktreeError) {
    process.stderr.write(errorLine(e.code, e.message, json));
    if (debug) process.stderr.write(`${e.stack}\n`);
    return e.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILED;
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(errorLine('INTERNAL', err?.message ?? String(e), json));
  if (debug) process.stderr.write(`${err?.stack}\n`);
  else if (!json) process.stderr.write('hacktree: (an unexpected error: run with HACKTREE_DEBUG=1 for details)\n');
  return EXIT_FAILED;
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; });

let finished = false;
main(process.argv.slice(2)).then((code) => {
  finished = true;
  process.exitCode = code;
});
// The event loop ran dry while the command still waited: a bug, which must not pass for success.
process.on('beforeExit', () => {
  if (finished) return;
  process.stderr.write('hacktree: internal error: the command stopped before it finished (run with HACKTREE_DEBUG=1 for details)\n');
  process.exitCode = 70;
});
