// hacktree's command line: one thin file per command under commands/.
import { Command, CommanderError } from 'commander';
import { HacktreeError } from '../errors.js';
import { register as init } from './commands/init.js';
import { register as commit } from './commands/commit.js';
import { register as log } from './commands/log.js';
import { register as show } from './commands/show.js';
import { register as refs } from './commands/refs.js';
import { register as revParse } from './commands/rev-parse.js';
import { register as ls } from './commands/ls.js';
import { register as cat } from './commands/cat.js';
import { register as diff } from './commands/diff.js';
import { register as checkout } from './commands/checkout.js';
import { register as fsck } from './commands/fsck.js';
import { register as prune } from './commands/prune.js';
import { register as reindex } from './commands/reindex.js';
import { pullCommands } from './commands/pull-commands.js';
import { extraCommands } from './extra-commands.js';

export const EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('hacktree')
    .description('keep OS roots as commits in an OSTree-compatible store, and mount any of them at once')
    .option('--repo <path>', 'repository (default $HACKTREE_REPO or SYSROOT/repo)')
    .option('--sysroot <path>', 'hacktree state: repo and roots (default $HACKTREE_SYSROOT or /var/lib/hacktree)')
    .option('--fsync <bool>', 'sync objects and refs to disk before reporting success (default true)')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (msg, write) => write(`hacktree: ${msg.replace(/^error: /, '')}`) })
    .exitOverride();
  for (const r of [init, commit, log, show, refs, revParse, ls, cat, diff, checkout, fsck, prune, reindex, ...pullCommands, ...extraCommands]) r(program);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    // A command that passes on another program's exit code (enter) sets it.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // commander has printed its message already; help and version are not failures.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
    return EXIT_USAGE;
  }
  const debug = process.env.HACKTREE_DEBUG === '1';
  if (e instanceof HacktreeError) {
    process.stderr.write(`hacktree: ${e.message}\n`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    return e.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILED;
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`hacktree: ${err?.message ?? String(e)}\n`);
  if (debug) process.stderr.write(`${err?.stack}\n`);
  else process.stderr.write('hacktree: (an unexpected error: run with HACKTREE_DEBUG=1 for details)\n');
  return EXIT_FAILED;
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; });

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
