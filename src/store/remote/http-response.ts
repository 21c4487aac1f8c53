// Reads one HTTP/1.1 response to a GET as its bytes arrive: the status line and
// headers, then the body as Content-Length, the chunked coding, or the end of the
// connection frames it. Deliberately small and strict: a pull makes one request per
// object, and node's http module spent more time per request than inflating and
// hashing the object took (~100 µs against ~20 µs of this).

/** The response broke the protocol: the connection cannot be trusted any more. */
export class ProtocolError extends Error {}

export interface ResponseHead {
  status: number;
  reason: string;
  /** Content-Length, when the body is framed by it. */
  length: number | null;
  /** The connection may carry another request once this response has ended. */
  reusable: boolean;
}

/** Bounds on what a server may send besides the body. */
const MAX_HEAD_BYTES = 64 << 10;
const MAX_CHUNK_LINE = 1024;

const enum State { Head, Length, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose, Done, Stopped }

export interface ResponseHandlers {
  /** The head is in; returning false stops reading (the caller drops the connection). */
  head(h: ResponseHead): boolean;
  body(chunk: Buffer): void;
}

export class ResponseParser {
  private state = State.Head;
  /** Head bytes (or a chunk-size/trailer line) not yet complete. */
  private pending: Buffer | null = null;
  private left = 0;
  head: ResponseHead | null = null;

  constructor(private readonly on: ResponseHandlers) {}

  get done(): boolean { return this.state === State.Done; }

  /** Feeds bytes from the connection. Bytes after the end of the response are a protocol error (no pipelining here). */
  feed(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      switch (this.state) {
        case State.Head: off = this.readHead(data, off); break;
        case State.Length: case State.ChunkData: {
          const n = Math.min(this.left, data.length - off);
          this.on.body(data.subarray(off, off + n));
          off += n;
          this.left -= n;
          if (this.left === 0) this.state = this.state === State.Length ? State.Done : State.ChunkEnd;
          break;
        }
        case State.ChunkSize: case State.ChunkEnd: case State.Trailers: {
          const line = this.line(data, off, MAX_CHUNK_LINE);
          if (!line) return;
          off = line.next;
          this.chunkLine(line.text);
          break;
        }
        case State.UntilClose:
          this.on.body(off === 0 ? data : data.subarray(off));
          return;
        case State.Done:
          throw new ProtocolError('the server sent more than one response');
        case State.Stopped:
          return;
      }
    }
  }

  /** The connection ended: true when that completes the response (a body framed by the close). */
  eof(): boolean {
    if (this.state === State.UntilClose) this.state = State.Done;
    return this.done;
  }

  private readHead(data: Buffer, off: number): number {
    const buf = this.pending ? Buffer.concat([this.pending, data.subarray(off)]) : data.subarray(off);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) throw new ProtocolError(`response headers longer than ${MAX_HEAD_BYTES} bytes`);
      this.pending = Buffer.from(buf); // own the bytes: `data` may be reused by the socket
      return data.length;
    }
    if (end > MAX_HEAD_BYTES) throw new ProtocolError(`response headers longer than ${MAX_HEAD_BYTES} bytes`);
    const consumed = end + 4 - (this.pending?.length ?? 0);
    this.pending = null;
    this.parseHead(buf.toString('latin1', 0, end));
    return off + consumed;
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (!m) throw new ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const status = Number(m[2]);
    let length: number | null = null, chunked = false, close = m[1] === '0';
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const colon = l.indexOf(':');
      if (colon <= 0 || l[0] === ' ' || l[0] === '\t') throw new ProtocolError(`malformed header line ${JSON.stringify(l.slice(0, 80))}`);
      const name = l.slice(0, colon).toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== null && length !== Number(value))) throw new ProtocolError(`bad Content-Length ${JSON.stringify(value)}`);
        length = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked = value.toLowerCase().split(',').map((s) => s.trim()).at(-1) === 'chunked';
        if (!chunked) close = true; // another coding: the body runs to the end of the connection
      } else if (name === 'connection') {
        const opts = value.toLowerCase().split(',').map((s) => s.trim());
        if (opts.includes('close')) close = true;
        else if (opts.includes('keep-alive') && m[1] === '0') close = false;
      }
    }
    if (status >= 100 && status < 200) return; // an interim response (103 Early Hints…): the real one follows
    if (chunked) length = null;
    this.head = { status, reason: m[3] ?? '', length, reusable: !close && (chunked || length !== null) };
    if (!this.on.head(this.head)) this.state = State.Stopped;
    else if (status === 204 || status === 304) this.state = State.Done;
    else if (chunked) this.state = State.ChunkSize;
    else if (length !== null) { this.left = length; this.state = length === 0 ? State.Done : State.Length; }
    else this.state = State.UntilClose;
  }

  /** A CRLF-terminated line starting at `off`, joined with what an earlier packet held. */
  private line(data: Buffer, off: number, max: number): { text: string; next: number } | null {
    const nl = data.indexOf('\n', off);
    if (nl < 0) {
      const sofar = this.pending ? Buffer.concat([this.pending, data.subarray(off)]) : Buffer.from(data.subarray(off));
      if (sofar.length > max) throw new ProtocolError('chunk header line too long');
      this.pending = sofar;
      return null;
    }
    const whole = this.pending ? Buffer.concat([this.pending, data.subarray(off, nl + 1)]) : data.subarray(off, nl + 1);
    this.pending = null;
    if (whole.length > max) throw new ProtocolError('chunk header line too long');
    if (whole.length < 2 || whole[whole.length - 2] !== 0x0d) throw new ProtocolError('chunk line not ended by CRLF');
    return { text: whole.toString('latin1', 0, whole.length - 2), next: nl + 1 };
  }

  private chunkLine(text: string): void {
    switch (this.state) {
      case State.ChunkEnd:
        if (text !== '') throw new ProtocolError('chunk data longer than its size');
        this.state = State.ChunkSize;
        return;
      case State.Trailers:
        if (text === '') this.state = State.Done;
        return;
      default: {
        const m = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(text);
        if (!m) throw new ProtocolError(`bad chunk size line ${JSON.stringify(text.slice(0, 40))}`);
        this.left = parseInt(m[1]!, 16);
        this.state = this.left === 0 ? State.Trailers : State.ChunkData;
      }
    }
  }
}
