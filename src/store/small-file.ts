// Reads a file of a few KB (a metadata object) in two thread-pool round trips (open, read; the
// close is not waited for) where readFile takes four (open, fstat, read, close): a mount reads a
// dirtree for each directory a walk enters. A read that comes back short is the end of a regular
// file. Reads go into scratch buffers kept for the next read, and the result is a copy of what
// was read: most dirtrees are a few hundred bytes (the test root's median 155), and a fresh
// 64 KiB buffer per read was 50 MB of garbage in a cold `find` of the test root, which kept V8's
// collector busy on the daemon's second core.
import fs from 'node:fs';

const SCRATCH = 64 * 1024;
/** Scratch buffers kept: one per read in flight, as many as a mount lists at once and a few more. */
const KEEP = 32;
const spare: Buffer[] = [];

const open = (path: string): Promise<number> => new Promise((res, rej) => fs.open(path, 'r', (err, fd) => (err ? rej(err) : res(fd))));
const readAt = (fd: number, buf: Buffer, at: number): Promise<number> =>
  new Promise((res, rej) => fs.read(fd, buf, at, buf.length - at, at, (err, n) => (err ? rej(err) : res(n))));

export async function readSmallFile(path: string): Promise<Buffer> {
  const fd = await open(path);
  let buf = spare.pop() ?? Buffer.allocUnsafe(SCRATCH);
  try {
    let len = 0;
    for (;;) {
      len += await readAt(fd, buf, len);
      if (len < buf.length) break;
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger);
      if (buf.length === SCRATCH && spare.length < KEEP) spare.push(buf);
      buf = bigger;
    }
    return Buffer.from(buf.subarray(0, len));
  } finally {
    fs.close(fd, () => {});
    if (buf.length === SCRATCH && spare.length < KEEP) spare.push(buf);
  }
}
