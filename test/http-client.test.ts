// The pull's HTTP client against a local server: kept-alive connections the server
// has since closed are replaced at once, and a body split over many packets or sent
// chunked arrives whole. And the ranges a lazy listing asks for a file's header with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { HttpClient } from '../src/store/remote/http.js';
import { HttpSource } from '../src/store/remote/source.js';
import { serializeArchiveHeader } from '../src/store/objects/file-header.js';
import { hashBuffer } from '../src/store/content-hash.js';

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

describe("a content object's head, by range (what a lazy listing asks for)", () => {
  let server: http.Server;
  let base = '';
  const objects = new Map<string, Buffer>();
  const ranges: string[] = [];
  const content = crypto.randomBytes(100_000);
  /** A .filez as an archive repository serves it: header, then raw deflate. */
  const filez = (xattrs: Array<[string, Buffer]>): { csum: string; raw: Buffer } => {
    const meta = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs };
    const raw = Buffer.concat([serializeArchiveHeader(meta, content.length), zlib.deflateRawSync(content)]);
    return { csum: hashBuffer(meta, content).object, raw };
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const got = objects.get(req.url!.slice(1));
      if (!got) { res.writeHead(404); res.end(); return; }
      const m = /^bytes=0-(\d+)$/.exec(req.headers.range ?? '');
      ranges.push(req.headers.range ?? 'whole');
      if (!m) { res.writeHead(200, { 'content-length': got.length }); res.end(got); return; }
      const part = got.subarray(0, Number(m[1]) + 1);
      res.writeHead(206, { 'content-length': part.length, 'content-range': `bytes 0-${part.length - 1}/${got.length}` });
      res.end(part);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  const publish = (o: { csum: string; raw: Buffer }): void => { objects.set(`objects/${o.csum.slice(0, 2)}/${o.csum.slice(2)}.filez`, o.raw); };

  it('asks for the first 512 bytes: the header, not the content', async () => {
    const o = filez([]);
    publish(o);
    ranges.length = 0;
    const src = new HttpSource('t', base);
    try {
      const got = await src.contentHead(o.csum, 512);
      expect(got).toEqual({ meta: { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, size: content.length });
      expect(ranges).toEqual(['bytes=0-511']);
    } finally {
      src.close();
    }
  });

  it('a header longer than that (large xattrs) is asked for again, to its end, not the whole object', async () => {
    const big: [string, Buffer] = ['user.big', Buffer.alloc(2000, 'x')];
    const o = filez([big]);
    publish(o);
    ranges.length = 0;
    const src = new HttpSource('t', base);
    try {
      const got = await src.contentHead(o.csum, 512);
      expect(got && 'meta' in got && got.meta.xattrs).toEqual([big]);
      expect(got && 'size' in got && got.size).toBe(content.length);
      const hlen = 8 + o.raw.readUInt32BE(0);
      expect(ranges).toEqual(['bytes=0-511', `bytes=0-${hlen}`]);
    } finally {
      src.close();
    }
  });
});
