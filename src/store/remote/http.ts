// GET over HTTP(S) for pulls: one keep-alive agent, a bound on requests in
// flight, retries with backoff on 5xx and broken connections, an idle timeout,
// and a size cap on every response (a hostile server cannot stream forever).
import http from 'node:http';
import https from 'node:https';
import { HacktreeError } from '../../errors.js';

export interface FetchOptions {
  /** Refuse the response once it passes this many bytes. */
  maxBytes: number;
  /** Called as bytes arrive; may lower the cap once it knows more (the .filez header declares its size). */
  limit?: (soFar: Buffer[], received: number) => number;
}

export interface HttpStats { requests: number; bytes: number }

const CONCURRENCY = 8;
const ATTEMPTS = 5;
const BACKOFF_MS = 200;
const IDLE_TIMEOUT_MS = Number(process.env.HACKTREE_HTTP_TIMEOUT_MS ?? 30_000);

/** A failure worth trying again: a 5xx, a reset or refused connection, a cut-off body, a timeout. */
class Retryable extends Error {}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, bytes: 0 };
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(url: string) {
    let u: URL;
    try { u = new URL(url.endsWith('/') ? url : url + '/'); } catch { throw new HacktreeError('USAGE', `invalid remote URL '${url}'`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HacktreeError('USAGE', `remote URL '${url}' is not http:// or https://`);
    this.base = u;
    this.lib = u.protocol === 'https:' ? https : http;
    this.agent = new this.lib.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  }

  urlOf(path: string): string {
    return new URL(path, this.base).toString();
  }

  /** The body, or null on 404. Anything else that is not 200 is an error (5xx after retries). */
  async get(path: string, opts: FetchOptions): Promise<Buffer | null> {
    await this.slot();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.once(path, opts);
        } catch (e) {
          if (!(e instanceof Retryable) || attempt >= ATTEMPTS) {
            if (e instanceof Retryable) throw new HacktreeError('NETWORK', `GET ${this.urlOf(path)} failed after ${attempt} attempts: ${e.message}`);
            throw e;
          }
          await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (attempt - 1)));
        }
      }
    } finally {
      this.release();
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private async slot(): Promise<void> {
    if (this.active < CONCURRENCY) { this.active++; return; }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); else this.active--;
  }

  private once(path: string, opts: FetchOptions): Promise<Buffer | null> {
    const url = this.urlOf(path);
    return new Promise((resolve, reject) => {
      this.stats.requests++;
      const req = this.lib.get(url, { agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 404) { res.resume(); resolve(null); return; }
        if (status >= 500) { res.resume(); reject(new Retryable(`server answered ${status}`)); return; }
        if (status !== 200) { res.resume(); reject(new HacktreeError('NETWORK', `GET ${url}: server answered ${status} ${res.statusMessage ?? ''}`.trim())); return; }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (declared > opts.maxBytes) {
          req.destroy();
          reject(new HacktreeError('MALFORMED_OBJECT', `GET ${url}: response of ${declared} bytes is over the ${opts.maxBytes}-byte limit`));
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        let cap = opts.maxBytes;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          received += c.length;
          this.stats.bytes += c.length;
          if (opts.limit) cap = Math.min(cap, opts.limit(chunks, received));
          if (received > cap) {
            req.destroy();
            reject(new HacktreeError('MALFORMED_OBJECT', `GET ${url}: response is longer than the ${cap} bytes it may have; stopped reading`));
          }
        });
        res.on('end', () => {
          if (!res.complete) { reject(new Retryable('connection closed before the whole response arrived')); return; }
          resolve(Buffer.concat(chunks, received));
        });
        res.on('aborted', () => reject(new Retryable('connection closed before the whole response arrived')));
        res.on('error', (e) => reject(new Retryable(e.message)));
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Retryable(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof Retryable || e instanceof HacktreeError) { reject(e); return; }
        reject(new Retryable(describeNetError(e)));
      });
    });
  }
}

function describeNetError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED': return 'connection refused (is the server running?)';
    case 'ECONNRESET': return 'connection reset by the server';
    case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot resolve host (${e.code})`;
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    case 'ETIMEDOUT': return 'connection timed out';
    default: return e.message;
  }
}
