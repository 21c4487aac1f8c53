// GET over HTTP(S) for pulls: kept-alive connections, a bound on requests in
// flight, retries with backoff on 5xx and broken connections, an idle timeout,
// and a size cap on every response (a hostile server cannot stream forever).
// Responses are read by http-response.ts rather than node's http module, whose
// per-request cost was most of a pull's CPU time.
import fs from 'node:fs';
import net from 'node:net';
import { HacktreeError } from '../../errors.js';
import { ProtocolError, ResponseParser } from './http-response.js';

export interface FetchOptions {
  /** Refuse the response once it passes this many bytes. */
  maxBytes: number;
  /** Called as bytes arrive; may lower the cap once it knows more (the .filez header declares its size). */
  limit?: (soFar: Buffer[], received: number) => number;
  /** Ask for the first `range` bytes only; `partial` is told whether the answer is a part (206) or all of it (200). */
  range?: { bytes: number; partial: (yes: boolean) => void };
}

export interface HttpStats { requests: number; bytes: number }

const CONCURRENCY = 8;
const ATTEMPTS = 5;
const BACKOFF_MS = 200;
const IDLE_TIMEOUT_MS = Number(process.env.HACKTREE_HTTP_TIMEOUT_MS ?? 30_000);

/** node:tls, loaded for https only: loading it costs each process of a lazy mount's start ~8 ms. */
const tls = (): typeof import('node:tls') => process.getBuiltinModule('node:tls');

/**
 * The certificates NODE_EXTRA_CA_CERTS names, which bin/hacktree hands on as
 * HACKTREE_EXTRA_CA_CERTS: node 20 reads and parses that whole file as it starts, ~60 ms of
 * CPU for Debian's bundle in every process (the command, a mount's supervisor and daemon),
 * which only a TLS connection needs. Read once, when the first one is made.
 */
let extra: { ca?: string[] } | undefined;
function extraCa(): { ca?: string[] } {
  if (extra) return extra;
  const file = process.env.HACKTREE_EXTRA_CA_CERTS;
  if (!file) return (extra = {});
  let pem: string;
  try { pem = fs.readFileSync(file, 'utf8'); } catch (e) {
    // As node does with NODE_EXTRA_CA_CERTS: say so, and go on with its own.
    process.stderr.write(`hacktree: cannot read the extra CA certificates ${file}: ${(e as Error).message}\n`);
    return (extra = {});
  }
  return (extra = { ca: [...tls().rootCertificates, pem] });
}

/** A failure worth trying again: a 5xx, a reset or refused connection, a cut-off body, a timeout. */
class Retryable extends Error {}

/** A kept-alive connection the server had closed before we reused it: try again on a new one, at once. */
class Stale extends Error {}

/** A request's target: what goes on the request line, and the URL for messages. */
interface Target { target: string; href: string; host: string }

/** What a connection's socket events go to while a request is on it. */
interface Exchange {
  data(d: Buffer): void;
  end(): void;
  error(e: NodeJS.ErrnoException): void;
  timeout(): void;
}

/** One connection to the server, carrying one request at a time. */
class Connection {
  current: Exchange | null = null;
  /** Responses it has carried: a reused connection may have been closed by the server meanwhile. */
  served = 0;
  dead = false;

  constructor(readonly socket: net.Socket, private readonly onDead: (c: Connection) => void) {
    socket.on('data', (d: Buffer) => this.current?.data(d));
    socket.on('end', () => { this.gone(); this.current?.end(); });
    socket.on('close', () => { this.gone(); this.current?.end(); });
    socket.on('error', (e: NodeJS.ErrnoException) => { this.gone(); this.current?.error(e); });
    socket.on('timeout', () => this.current?.timeout());
  }

  private gone(): void {
    if (this.dead) return;
    this.dead = true;
    this.onDead(this);
  }

  destroy(): void {
    this.gone();
    this.socket.destroy();
  }
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, bytes: 0 };
  private readonly base: URL;
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  /** `concurrency`: requests in flight at most (each fetch worker has a client of its own). */
  constructor(url: string, private readonly concurrency = CONCURRENCY) {
    let u: URL;
    try { u = new URL(url.endsWith('/') ? url : url + '/'); } catch { throw new HacktreeError('USAGE', `invalid remote URL '${url}'`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HacktreeError('USAGE', `remote URL '${url}' is not http:// or https://`);
    this.base = u;
  }

  urlOf(path: string): string {
    return new URL(path, this.base).toString();
  }

  /** Plain relative paths (every object path) join the base directly: URL parsing was a visible cost per request. */
  private resolve(path: string): Target {
    if (/^[A-Za-z0-9_-][A-Za-z0-9._/-]*$/.test(path) && !path.includes('/.') && !path.includes('//')) {
      const target = this.base.pathname + path;
      return { target, href: this.base.origin + target, host: this.base.host };
    }
    const u = new URL(path, this.base);
    return { target: u.pathname + u.search, href: u.toString(), host: u.host };
  }

  /** The body, or null on 404. Anything else that is not 200 is an error (5xx after retries). */
  async get(path: string, opts: FetchOptions): Promise<Buffer | null> {
    await this.slot();
    try {
      const url = this.resolve(path);
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.once(url, opts);
        } catch (e) {
          if (this.closed) throw new HacktreeError('NETWORK', `GET ${url.href}: the client was closed`);
          if (!(e instanceof Retryable) || attempt >= ATTEMPTS) {
            if (e instanceof Retryable) throw new HacktreeError('NETWORK', `GET ${url.href} failed after ${attempt} attempts: ${e.message}`);
            throw e;
          }
          await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (attempt - 1)));
        }
      }
    } finally {
      this.release();
    }
  }

  /** Drops every connection; requests in flight fail at once, without retries. */
  close(): void {
    this.closed = true;
    for (const c of [...this.open]) c.destroy();
    this.idle.length = 0;
  }

  private async slot(): Promise<void> {
    if (this.active < this.concurrency) { this.active++; return; }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); else this.active--;
  }

  private connect(): Connection {
    const port = Number(this.base.port) || (this.base.protocol === 'https:' ? 443 : 80);
    const host = this.base.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = this.base.protocol === 'https:'
      ? tls().connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...extraCa() })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    const c = new Connection(socket, (gone) => {
      this.open.delete(gone);
      const i = this.idle.indexOf(gone);
      if (i >= 0) this.idle.splice(i, 1);
    });
    this.open.add(c);
    return c;
  }

  private async once(url: Target, opts: FetchOptions): Promise<Buffer | null> {
    for (;;) {
      if (this.closed) throw new HacktreeError('NETWORK', `GET ${url.href}: the client was closed`);
      const conn = this.idle.pop() ?? this.connect();
      try {
        return await this.exchange(conn, url, opts);
      } catch (e) {
        if (!(e instanceof Stale)) throw e;
      }
    }
  }

  /** Sends one GET on `conn` and reads its response. */
  private exchange(conn: Connection, url: Target, opts: FetchOptions): Promise<Buffer | null> {
    const href = url.href;
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0, cap = opts.maxBytes, heard = false, settled = false;
      const socket = conn.socket;
      const finish = (keep: boolean, err: unknown, value: Buffer | null = null): void => {
        if (settled) return;
        settled = true;
        conn.current = null;
        socket.setTimeout(0);
        if (keep && !conn.dead) {
          conn.served++;
          socket.unref(); // an idle connection must not keep the process alive
          this.idle.push(conn);
        } else conn.destroy();
        if (err) reject(err); else resolve(value);
      };
      /** A reused connection that fails before a byte of the answer was closed by the server while idle. */
      const broken = (why: string): void => finish(false, conn.served > 0 && !heard ? new Stale(why) : new Retryable(why));
      const parser = new ResponseParser({
        head: (h) => {
          if (h.status === 404) { finish(false, null, null); return false; }
          if (h.status >= 500) { finish(false, new Retryable(`server answered ${h.status}`)); return false; }
          opts.range?.partial(h.status === 206);
          if (h.status !== 200 && !(h.status === 206 && opts.range)) { finish(false, new HacktreeError('NETWORK', `GET ${href}: server answered ${h.status} ${h.reason}`.trim())); return false; }
          if (h.length !== null && h.length > opts.maxBytes) {
            finish(false, new HacktreeError('MALFORMED_OBJECT', `GET ${href}: response of ${h.length} bytes is over the ${opts.maxBytes}-byte limit`));
            return false;
          }
          return true;
        },
        body: (c) => {
          if (settled) return;
          chunks.push(c);
          received += c.length;
          this.stats.bytes += c.length;
          if (opts.limit) cap = Math.min(cap, opts.limit(chunks, received));
          if (received > cap) finish(false, new HacktreeError('MALFORMED_OBJECT', `GET ${href}: response is longer than the ${cap} bytes it may have; stopped reading`));
        },
      });
      conn.current = {
        data: (d) => {
          heard = true;
          try { parser.feed(d); } catch (e) { finish(false, e instanceof ProtocolError ? new Retryable(`bad response: ${e.message}`) : e); return; }
          if (parser.done) finish(parser.head!.reusable, null, whole(chunks, received));
        },
        end: () => {
          if (parser.eof()) finish(false, null, whole(chunks, received));
          else broken('connection closed before the whole response arrived');
        },
        error: (e) => broken(describeNetError(e)),
        timeout: () => finish(false, new Retryable(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)),
      };
      if (conn.dead) { broken('connection closed before the whole response arrived'); return; }
      socket.ref();
      socket.setTimeout(IDLE_TIMEOUT_MS);
      const range = opts.range ? `Range: bytes=0-${opts.range.bytes - 1}\r\n` : '';
      socket.write(`GET ${url.target} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: hacktree\r\nAccept-Encoding: identity\r\n${range}\r\n`, 'latin1');
    });
  }
}

/** The body as one Buffer. One chunk is kept as it is: each socket read is a buffer of its own, so no copy is needed. */
const whole = (chunks: Buffer[], received: number): Buffer => chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);

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
