// Everything the benchmarks leave on the machine (running commands, mounts, temp dirs) is
// registered here, so that a `finally` undoes it on the normal path and an interrupt (Ctrl-C,
// SIGTERM) undoes whatever is still pending before the process exits. Undo steps are synchronous so they can run from a
// signal handler.
const pending: Array<() => void> = [];

export interface Undo {
  /** Runs the undo step (once) and unregisters it. */
  now(): void;
  /** Unregisters it without running it: the thing was undone some other way. */
  forget(): void;
}

export function onCleanup(undo: () => void): Undo {
  let done = false;
  const forget = (): void => {
    done = true;
    const i = pending.indexOf(now);
    if (i >= 0) pending.splice(i, 1);
  };
  const now = (): void => {
    if (done) return;
    forget();
    undo();
  };
  pending.push(now);
  return { now, forget };
}

/** Runs every pending undo step, newest first (a mount is undone before the temp dir holding it). */
export function cleanupAll(): void {
  while (pending.length > 0) {
    const run = pending[pending.length - 1]!;
    try {
      run();
    } catch (e) {
      // run() unregistered itself before failing; report and go on with the rest.
      process.stderr.write(`bench: cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

export function cleanupOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      cleanupAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}
