// The HTTP/1.1 response reader the pull's client uses instead of node's http:
// framing by length, chunked coding and connection close, split at any byte,
// and refusal of what breaks the protocol.
import { describe, expect, it } from 'vitest';
import { ProtocolError, ResponseParser, type ResponseHead } from '../src/store/remote/http-response.js';

/** Feeds `wire` in pieces of `step` bytes; returns the head, the body and whether the response ended. */
function read(wire: string | Buffer, step = wire.length, eof = false): { head: ResponseHead | null; body: string; done: boolean } {
  const bytes = Buffer.isBuffer(wire) ? wire : Buffer.from(wire, 'latin1');
  const chunks: Buffer[] = [];
  let head: ResponseHead | null = null;
  const p = new ResponseParser({ head: (h) => { head = h; return true; }, body: (c) => chunks.push(Buffer.from(c)) });
  for (let i = 0; i < bytes.length; i += step) p.feed(bytes.subarray(i, i + step));
  const done = eof ? p.eof() : p.done;
  return { head, body: Buffer.concat(chunks).toString('latin1'), done };
}

describe('HTTP response reader', () => {
  const byLength = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 11\r\n\r\nhello world';
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n';

  for (const step of [1, 2, 7, 1000]) {
    it(`reads a Content-Length body and a chunked body fed ${step} byte(s) at a time`, () => {
      expect(read(byLength, step)).toMatchObject({ body: 'hello world', done: true, head: { status: 200, length: 11, reusable: true } });
      expect(read(chunked, step)).toMatchObject({ body: 'hello world', done: true, head: { status: 200, length: null, reusable: true } });
    });
  }

  it('a body without length or chunking runs to the end of the connection, which is then not reused', () => {
    const r = read('HTTP/1.0 200 OK\r\n\r\nall of it', 3, true);
    expect(r).toMatchObject({ body: 'all of it', done: true, head: { reusable: false } });
    expect(read('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok').head?.reusable).toBe(false);
  });

  it('a response cut short is not complete', () => {
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello', 100, true).done).toBe(false);
    expect(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 100, true).done).toBe(false);
  });

  it('skips interim 1xx responses', () => {
    expect(read('HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n' + byLength, 5)).toMatchObject({ body: 'hello world', head: { status: 200 } });
  });

  it('stops at the head when asked, and reads no body', () => {
    const body: Buffer[] = [];
    const p = new ResponseParser({ head: (h) => h.status === 200, body: (c) => body.push(c) });
    p.feed(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop'));
    expect(body).toEqual([]);
    expect(p.done).toBe(false);
  });

  const bad: Array<[string, string]> = [
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['a bad status line', 'HTTP/1.1 2000 OK\r\n\r\n'],
    ['a folded header', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['a negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a chunk longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n'],
    ['bytes after the response', byLength + 'HTTP/1.1 200 OK\r\n'],
  ];
  for (const [what, wire] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => read(wire, 1)).toThrow(ProtocolError);
    });
  }

  it('refuses endless headers and endless chunk lines without buffering them all', () => {
    expect(() => read('HTTP/1.1 200 OK\r\n' + 'X: y\r\n'.repeat(20000), 4096)).toThrow(/headers longer than/);
    expect(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + '0'.repeat(5000), 100)).toThrow(/chunk header line too long/);
  });
});
