// Starts bench/delay-relay.ts in a process of its own: a TCP relay to `target` adding `delayMs`
// each way (a round trip of twice that), killed on any exit of this process.
import { spawn, type ChildProcess } from 'node:child_process';
import { onCleanup } from './cleanup.js';

export function startDelayRelay(target: number, delayMs: number): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [new URL('./delay-relay.js', import.meta.url).pathname, String(target), String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), child }));
    child.once('exit', (code) => reject(new Error(`delay relay exited ${code}`)));
  });
}
