// nginx on loopback for the pull benchmark: its own config, pid and logs in a temp dir, stopped
// by cleanup on any exit. Bytes on the wire are read from its access log ($body_bytes_sent), as
// benchmarks.md asks: counted at the server, not by the client being measured.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { have } from './run.js';

export interface Served {
  url(sub: string): string;
  /** Body bytes and requests logged since the last clear(). */
  bytes(): number;
  requests(filter?: (uri: string) => boolean): number;
  clear(): void;
  stop(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function serve(root: string, dir: string): Promise<Served> {
  if (!have('nginx')) throw new Error('nginx missing (apt-get install nginx-light)');
  const port = await freePort();
  const log = join(dir, 'access.log');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 2;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')};
events { worker_connections 1024; }
http {
  log_format counts '$request_uri $status $body_bytes_sent';
  access_log ${log} counts;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  default_type application/octet-stream;
  keepalive_requests 1000000;
  sendfile on;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`);
  const child = spawn('nginx', ['-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  const undo = onCleanup(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) => { const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });
    if (up) break;
    if (i > 100 || child.exitCode !== null) { undo.now(); throw new Error(`nginx did not start: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8').trim() : ''}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  const entries = (): Array<{ uri: string; bytes: number }> => (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter(Boolean)
    .map((l) => { const [uri, , b] = l.split(' '); return { uri: uri!, bytes: Number(b) }; });
  return {
    url: (sub) => `http://127.0.0.1:${port}/${sub}/`,
    bytes: () => entries().reduce((a, e) => a + e.bytes, 0),
    requests: (filter = () => true) => entries().filter((e) => filter(e.uri)).length,
    clear: () => truncateSync(log, 0),
    stop: () => undo.now(),
  };
}
