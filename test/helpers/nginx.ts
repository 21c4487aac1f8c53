// The nginx the pull tests serve their repositories with: the benchmark's (bench/nginx.ts),
// always with a throttled second port, so a test can interrupt a pull midway.
import { startNginx as start, type Nginx } from '../../bench/nginx.js';
import { requireTool } from './cli.js';

export { freePort, type AccessEntry, type Nginx } from '../../bench/nginx.js';

/** Starts nginx serving `root`; `dir` holds its config, pid and logs. Throttled port: `slowRate` requests per second. */
export async function startNginx(root: string, dir: string, slowRate = '150r/s'): Promise<Nginx> {
  requireTool('nginx', 'nginx-light');
  // One worker: the tests read the access log as the order in which requests were served.
  return start(root, dir, { slowRate, workers: 1 });
}

/** nginx as a caching proxy (proxy_cache) in front of `port`, as squid is for CernVM-FS clients. */
export async function startCachingProxy(port: number, dir: string): Promise<Nginx> {
  requireTool('nginx', 'nginx-light');
  return start('/nonexistent', dir, { workers: 1, proxyTo: port });
}
