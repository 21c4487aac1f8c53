// The pull's HTTP client against a local server: kept-alive connections the server
// has since closed are replaced at once, and a body split over many packets or sent
// chunked arrives whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../src/store/remote/http.js';

describe('HTTP client', () => {
  let server: http.Server;
  let base = '';
  const body = Buffer.alloc(300_000, 7);
  let served = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      served++;
      if (req.url === '/chunked') { res.write(body.subarray(0, 1000)); res.end(body.subarray(1000)); return; }
      if (req.url === '/missing') { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    server.keepAliveTimeout = 50; // closes idle kept-alive connections soon
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  it('reads bodies framed by length and chunked, and 404 as null', async () => {
    const c = new HttpClient(base, 2);
    try {
      expect((await c.get('whole', { maxBytes: 1 << 20 }))?.equals(body)).toBe(true);
      expect((await c.get('chunked', { maxBytes: 1 << 20 }))?.equals(body)).toBe(true);
      expect(await c.get('missing', { maxBytes: 1 << 20 })).toBeNull();
    } finally {
      c.close();
    }
  });

  it('a connection the server closed while idle is replaced without a failed attempt', async () => {
    const c = new HttpClient(base, 1);
    try {
      await c.get('whole', { maxBytes: 1 << 20 });
      await new Promise((r) => setTimeout(r, 300)); // the server drops the idle connection meanwhile
      served = 0;
      expect((await c.get('whole', { maxBytes: 1 << 20 }))?.equals(body)).toBe(true);
      expect(served).toBe(1);
    } finally {
      c.close();
    }
  });

  it('after close() a request fails at once', async () => {
    const c = new HttpClient(base, 1);
    c.close();
    await expect(c.get('whole', { maxBytes: 1 << 20 })).rejects.toThrow(/the client was closed/);
  });
});
