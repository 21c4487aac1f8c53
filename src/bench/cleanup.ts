// Everything the benchmarks leave on the machine (mounts, temp dirs) is registered here, so that
// a `finally` undoes it on the normal path and an interrupt (Ctrl-C, SIGTERM) undoes whatever is
// still pending before the process exits. Undo steps are synchronous so they can run from a
// signal handler.
const pending: Array<() => void> = [];

/** Registers an undo step; the returned function runs it (once) and unregisters it. */
export function onCleanup(undo: () => void): () => void {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    const i = pending.indexOf(run);
    if (i >= 0) pending.splice(i, 1);
    undo();
  };
  pending.push(run);
  return run;
}

/** Runs every pending undo step, newest first (a mount is undone before the temp dir holding it). */
export function cleanupAll(): void {
  while (pending.length > 0) {
    const run = pending[pending.length - 1]!;
    try {
      run();
    } catch (e) {
      process.stderr.write(`bench: cleanup failed: ${(e as Error).message}\n`);
      const i = pending.indexOf(run);
      if (i >= 0) pending.splice(i, 1);
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
