// hacktree's command line: one thin file per command under commands/, defined in program.ts.
import { CommanderError } from 'commander';
import { HacktreeError, UsageError } from '../errors.js';
import { buildProgram, errorLine, missingSubcommand, wantsJson } from './program.js';

export const EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2;

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    const missing = missingSubcommand(program, argv);
    if (missing) throw new UsageError(missing);
    await program.parseAsync(argv, { from: 'user' });
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
