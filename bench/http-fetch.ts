// One HTTP client fetching a list of paths, N requests in flight, in a process of its own so
// that its CPU time is its own: what group `http` compares. Prints one JSON line.
// usage: node .bench-dist/http-fetch.js CLIENT BASE_URL N LIST_FILE [UNDICI_DIR]
//   CLIENT: hacktree (src/store/remote/http.ts), fetch (Node's own, undici 6 inside node 20),
//   undici (the npm package's request(), N connections), undici-pipelined (N/8 connections,
//   8 requests pipelined on each: not in group `http` any more, see there).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Getter { get(path: string): Promise<number>; close(): Promise<void> | void }

/** The parts of undici's API used here (the package is optional: not a dependency of hacktree). */
interface UndiciModule {
  Agent: new (o: { connections: number; pipelining: number; keepAliveTimeout?: number }) => { close(): Promise<void> };
  request(url: string, o: { dispatcher: unknown }): Promise<{ statusCode: number; body: { arrayBuffer(): Promise<ArrayBuffer> } }>;
}

const [client, base, nArg, listFile, undiciDir] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const n = Number(nArg);

async function hacktreeClient(): Promise<Getter> {
  // Built by `tsc -p tsconfig.json` (the bench's own build does not include src/).
  const { HttpClient } = await import(new URL('../dist/store/remote/http.js', import.meta.url).href) as {
    HttpClient: new (url: string, concurrency: number) => { get(p: string, o: { maxBytes: number }): Promise<Buffer | null>; close(): void };
  };
  const c = new HttpClient(base, n);
  return {
    get: async (p) => (await c.get(p, { maxBytes: 1 << 30 }))?.length ?? 0,
    close: () => c.close(),
  };
}

/** At most `n` of `fn` running at once (fetch and undici's request have no such bound of their own). */
function bounded(fn: (p: string) => Promise<number>): (p: string) => Promise<number> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (p) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r)); else active++;
    try { return await fn(p); } finally { const next = waiting.shift(); if (next) next(); else active--; }
  };
}

function fetchClient(): Getter {
  return {
    get: bounded(async (p) => {
      const r = await fetch(base + p);
      if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
      return (await r.arrayBuffer()).byteLength;
    }),
    close: () => {},
  };
}

async function undiciClient(pipelined: boolean): Promise<Getter> {
  if (!undiciDir) throw new Error('no undici package given');
  const u = await import(pathToFileURL(join(undiciDir, 'index.js')).href) as UndiciModule;
  const agent = pipelined ? new u.Agent({ connections: Math.max(1, Math.ceil(n / 8)), pipelining: 8 }) : new u.Agent({ connections: n, pipelining: 1 });
  return {
    get: bounded(async (p) => {
      const r = await u.request(base + p, { dispatcher: agent });
      const b = await r.body.arrayBuffer();
      if (r.statusCode !== 200) throw new Error(`${p}: ${r.statusCode}`);
      return b.byteLength;
    }),
    close: () => agent.close(),
  };
}

async function main(): Promise<void> {
  const paths = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const c = client === 'hacktree' ? await hacktreeClient()
    : client === 'fetch' ? fetchClient()
      : client === 'undici' ? await undiciClient(false)
        : client === 'undici-pipelined' ? await undiciClient(true)
          : (() => { throw new Error(`unknown client ${client}`); })();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const sizes = await Promise.all(paths.map((p) => c.get(p)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await c.close();
  process.stdout.write(JSON.stringify({ seconds, cpu: (cpu.user + cpu.system) / 1e6, bytes: sizes.reduce((a, b) => a + b, 0) }) + '\n');
}

main().catch((e: Error) => { process.stderr.write(`${e.stack ?? e.message}\n`); process.exit(1); });
