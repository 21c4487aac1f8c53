// Group `http`: which HTTP client a lazy mount (and a pull) should fetch objects with, measured
// (issue 14). nginx serves many small objects (dirtrees, dirmetas, the first 4 KiB of a file) and
// a few large ones through bench/delay-relay.ts, a 20 ms round trip made in user space (this
// kernel has no sch_netem). Each client runs in a child process of its own (bench/http-fetch.ts),
// N requests in flight, and its wall and CPU time are taken: hacktree's own client
// (src/store/remote/http.ts, kept-alive connections, one request on each at a time), Node's own
// fetch (undici 6 inside Node 20), and, when HACKTREE_BENCH_UNDICI names an installed `undici`
// package directory, that package's request() with N connections. (Its pipelining, 8 requests
// on each of N/8 connections, took 6–18x as long as N connections for small objects in a first
// run, 2026-12-07: it is not measured any more.) The peer of every line is hacktree's client.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import { tempDir } from './paths.js';
import { have, run } from './run.js';
import { startNginx } from './nginx.js';
import { startDelayRelay } from './relay.js';

const DELAY_MS = 10;
const SMALL = 3000;
const LARGE = 6;
const LARGE_BYTES = 12 << 20;

interface Got { seconds: number; cpu: number; bytes: number }

export const group: Group = {
  name: 'http',
  async run(ctx: Context) {
    if (!have('nginx')) throw new Error('nginx missing (apt-get install nginx-light)');
    const undici = process.env.HACKTREE_BENCH_UNDICI;
    const clients = ['hacktree', 'fetch', ...(undici ? ['undici'] : [])];
    if (!undici) ctx.log('  HACKTREE_BENCH_UNDICI not set: the undici package is not measured (only Node\'s own fetch)');
    const tmp = tempDir('http');
    try {
      const www = join(tmp.path, 'www');
      mkdirSync(join(www, 's'), { recursive: true });
      mkdirSync(join(www, 'l'), { recursive: true });
      // Sizes as a lazy listing sees them: 200 B to 4 KiB (metadata objects, file heads, small files whole).
      const small: string[] = [], large: string[] = [];
      for (let i = 0; i < SMALL; i++) { writeFileSync(join(www, 's', String(i)), randomBytes(200 + ((i * 7919) % 3900))); small.push(`s/${i}`); }
      for (let i = 0; i < LARGE; i++) { writeFileSync(join(www, 'l', String(i)), randomBytes(LARGE_BYTES)); large.push(`l/${i}`); }
      const lists = { small: join(tmp.path, 'small.list'), large: join(tmp.path, 'large.list') };
      writeFileSync(lists.small, small.join('\n'));
      writeFileSync(lists.large, large.join('\n'));
      const server = await startNginx(www, join(tmp.path, 'nginx'), { workers: 2 });
      const relay = await startDelayRelay(server.port, DELAY_MS);
      const base = `http://127.0.0.1:${relay.port}/`;
      const cases: Array<{ what: 'small' | 'large'; n: number }> = [{ what: 'small', n: 32 }, { what: 'small', n: 128 }, { what: 'large', n: 8 }];
      const s = new Samples();
      try {
        for (let i = 0; i < ctx.runs; i++) {
          for (const c of cases) {
            for (const client of clients) {
              const r = await run(process.execPath, [new URL('./http-fetch.js', import.meta.url).pathname, client, base, String(c.n), lists[c.what], ...(undici ? [undici] : [])]);
              if (r.code !== 0) throw new Error(`${client} exited ${r.code}: ${r.stderr.trim()}`);
              const got = JSON.parse(r.stdout) as Got;
              s.add(`${c.what}-${c.n}-${client}-s`, got.seconds);
              s.add(`${c.what}-${c.n}-${client}-cpu`, got.cpu);
            }
            ctx.log(`  run ${i + 1}, ${c.what} N=${c.n}: ${clients.map((cl) => `${cl} ${s.get(`${c.what}-${c.n}-${cl}-s`).at(-1)!.toFixed(2)} s (cpu ${s.get(`${c.what}-${c.n}-${cl}-cpu`).at(-1)!.toFixed(2)} s)`).join(', ')}`);
          }
        }
      } finally {
        relay.child.kill('SIGKILL');
        await server.stop();
      }
      for (const c of cases) {
        const what = c.what === 'small' ? `${SMALL} objects of 0.2–4 KB` : `${LARGE} objects of ${LARGE_BYTES >> 20} MiB`;
        for (const client of clients.slice(1)) {
          for (const [k, label] of [['s', 'wall'], ['cpu', 'CPU']] as const) {
            ctx.report({
              group: 'http', name: `${c.what}-n${c.n}-${client}-${k}`, unit: 's', ratio: 'hacktree/peer', target: null,
              what: `${label} time to GET ${what}, ${c.n} in flight, ${2 * DELAY_MS} ms RTT: hacktree's client against ${client}`,
              hacktree: s.get(`${c.what}-${c.n}-hacktree-${k}`), peer: { name: client, values: s.get(`${c.what}-${c.n}-${client}-${k}`) },
            });
          }
        }
      }
    } finally {
      tmp.remove();
    }
  },
};
