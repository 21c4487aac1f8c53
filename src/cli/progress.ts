// Progress on a terminal, silence in a pipe.
import type { Progress } from '../store/ops/progress.js';
import { noProgress } from '../store/ops/progress.js';

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return noProgress;
  let last = 0;
  let drawn = false;
  const start = Date.now();
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const count = total ? `${done}/${total} (${Math.floor((done * 100) / Math.max(total, 1))}%)` : `${done}`;
      const width = (stream.columns || 80) - 1;
      const line = `${label}: ${count} ${detail ?? ''}`;
      stream.write(`\r${line.length > width ? line.slice(0, width) : line.padEnd(width)}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write(`\r${' '.repeat((stream.columns || 80) - 1)}\r`);
      if (drawn && Date.now() - start > 1000) stream.write(`${label}: done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    },
  };
}
