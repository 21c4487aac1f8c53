// Progress on a terminal, silence in a pipe. cli-progress draws it (redraw rate, line
// clearing, time left from a moving average of the rate); this file only says what a line
// shows: a bar, the count out of the total and the time left where the total is known, the
// count and the rate where it is not (a commit finds its files as it goes).
import cliProgress from 'cli-progress';
import type { Progress } from '../store/ops/progress.js';
import { noProgress } from '../store/ops/progress.js';

interface Params { value: number; total: number; progress: number; eta: number; startTime: number }

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return noProgress;
  let known = false;
  const format = (_o: unknown, p: Params, payload: { detail?: string }): string => {
    const secs = Math.max((Date.now() - p.startTime) / 1000, 0.001);
    const counts = known
      ? `${bar(p.progress)} ${p.value}/${p.total} (${Math.floor(p.progress * 100)}%), ${p.value >= p.total ? 'done' : `${formatEta(p.eta)} left`}`
      : `${p.value} (${Math.round(p.value / secs)}/s)`;
    return `${label}: ${counts}${payload.detail ? ` ${payload.detail}` : ''}`;
  };
  const progressBar = new cliProgress.SingleBar({ stream, format: format as unknown as string, fps: 10, etaBuffer: 100, clearOnComplete: true, hideCursor: false, linewrap: false });
  let started = false;
  const start = Date.now();
  return {
    update(done, total, detail) {
      known = total !== null && total > 0;
      if (!started) { progressBar.start(known ? total! : 0, done, { detail }); started = true; return; }
      if (known && total !== progressBar.getTotal()) progressBar.setTotal(total!);
      progressBar.update(done, { detail });
    },
    finish() {
      if (!started) return;
      progressBar.stop();
      if (Date.now() - start > 1000) stream.write(`${label}: done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    },
  };
}

function bar(fraction: number, width = 20): string {
  const full = Math.round(Math.min(Math.max(fraction, 0), 1) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** Seconds as "1h02m", "3m05s" or "12s"; cli-progress's estimate is not a number until it has seen some rate. */
export function formatEta(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '?';
  const s = Math.round(secs);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
