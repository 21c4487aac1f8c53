// A real nginx on 127.0.0.1 serving a directory, for the pull benchmark and the pull tests:
// its own config, pid and logs under a scratch directory. Optionally a second, throttled port
// (limit_req), so a test can interrupt a pull midway. The access log records port, URI, status
// and $body_bytes_sent of every request: bytes on the wire are counted at the server, not by the
// client being measured (benchmarks.md).
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { onCleanup } from './cleanup.js';

export interface AccessEntry { port: number; uri: string; status: number; bytes: number }

export interface Nginx {
  port: number;
  /** The throttled port, when one was asked for. */
  slowPort: number | null;
  url(sub: string, slow?: boolean): string;
  /** Requests logged since the last clearLog(). */
  log(): AccessEntry[];
  clearLog(): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : ''}`);
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on 127.0.0.1:${port}`);
}

/**
 * Starts nginx serving `root`; `dir` holds its config, pid and logs. With `slowRate` (e.g.
 * '150r/s'), a second port lets requests through at that rate. `workers`: worker processes
 * (one keeps the access log in the order requests finished). Killed on any exit of this process.
 */
/**
 * `proxyTo`: instead of serving `root`, be a caching proxy in front of that port, as a site's
 * squid is for CernVM-FS: objects (immutable, named by checksum) are cached, refs never; an
 * absent object (most commits have no .commitmeta) for a minute, as it may be added later.
 */
export async function startNginx(root: string, dir: string, opts: { slowRate?: string; workers?: number; proxyTo?: number } = {}): Promise<Nginx> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const slowPort = opts.slowRate ? await freePort() : null;
  const access = join(dir, 'access.log');
  const errorLog = join(dir, 'error.log');
  const conf = join(dir, 'nginx.conf');
  // As root, nginx's workers would run as nobody, who cannot read a 0700 scratch directory.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  // Throttled: requests are queued and let through at a fixed rate (limit_rate alone would not slow small files).
  const slow = slowPort === null ? '' : `
  limit_req_zone $server_port zone=slow:1m rate=${opts.slowRate};
  server { listen 127.0.0.1:${slowPort}; root ${root}; limit_req zone=slow burst=100000; }`;
  fs.writeFileSync(conf, `
${user}
worker_processes ${opts.workers ?? 2};
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog};
events { worker_connections 1024; }
http {
  log_format counts '$server_port $request_uri $status $body_bytes_sent';
  access_log ${access} counts;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  default_type application/octet-stream;
  keepalive_requests 1000000;
  sendfile on;
  ${opts.proxyTo === undefined ? `server { listen 127.0.0.1:${port}; root ${root}; }` : `
  proxy_cache_path ${join(dir, 'cache')} levels=1:2 keys_zone=objects:10m max_size=4g inactive=7d use_temp_path=off;
  upstream origin { server 127.0.0.1:${opts.proxyTo}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location /  { proxy_pass http://origin; }
    location ~ /objects/ { proxy_pass http://origin; proxy_cache objects; proxy_cache_valid 200 7d; proxy_cache_valid 404 1m; }
  }`}${slow}
}
`);
  const child = spawn('nginx', ['-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const kill = onCleanup(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitListening(port, child, errorLog);
    if (slowPort !== null) await waitListening(slowPort, child, errorLog);
  } catch (e) {
    kill.now();
    throw new Error(`${(e as Error).message} ${stderr}`);
  }
  return {
    port,
    slowPort,
    url: (sub, wantSlow = false) => `http://127.0.0.1:${wantSlow && slowPort !== null ? slowPort : port}/${sub.replace(/^\//, '')}${sub.endsWith('/') ? '' : '/'}`,
    log: () => {
      if (!fs.existsSync(access)) return [];
      return fs.readFileSync(access, 'utf8').split('\n').filter(Boolean).map((l) => {
        const [p, uri, status, bytes] = l.split(' ');
        return { port: Number(p), uri: uri!, status: Number(status), bytes: Number(bytes) };
      });
    },
    // nginx keeps the log open: truncating it in place keeps its descriptor valid (it appends).
    clearLog: () => fs.truncateSync(access, 0),
    stop: () => new Promise<void>((resolve) => {
      kill.forget();
      if (child.exitCode !== null) { resolve(); return; }
      child.on('exit', () => resolve());
      child.kill('SIGQUIT');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}
