// A tiny in-memory filesystem served through src/fuse/binding.ts, run as a
// child process by test/fuse-binding.test.ts (a process must never touch the
// mount it serves). Usage: node fuse-binding-fs.mjs MOUNTPOINT 'JSON MountOptions'
// Prints "READY" once mounted, "MOUNT_FAILED <message>" (exit 2) on failure, and
// one JSON line per interesting op call, which the test reads (getattr and
// readlink, readdir and getxattr are all logged: the attrCache tests count
// which ones reach JS).
// A lookup of /.ctl-clear, /.ctl-publish or /.ctl-content calls clearCache(),
// cacheAttrs() or cacheContent() on the mount, one of /.ctl-counts-N logs
// requestCounts() (with n: N); readlink publishes its answer with cacheLink().
import fs from 'node:fs';
import { mount, FuseError, UTIME_NOW, UTIME_OMIT, ID_UNCHANGED, DIRECT_FH, STABLE_CONTENT, LAYER_ONLY_DIR } from '../../dist/fuse/binding.js';

const [mnt, optionsJson = '{}'] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
// {"backing": FILE}: /real is that real file, opened as a direct handle (DIRECT_FH + fd).
const backing = options.backing ?? null;
delete options.backing;
// {"many": N}: /many holds N files, f0000..., each with its own inode number and size.
const many = options.many ?? 0;
delete options.many;
// {"contentFile": FILE}: a lookup of /.ctl-content publishes FILE as the content of /hello (cacheContent).
const contentFile = options.contentFile ?? null;
delete options.contentFile;
const REAL = '/real';
function realStat() {
  const st = fs.lstatSync(backing);
  return { mode: st.mode, ino: 2 ** 50 + 1, nlink: st.nlink, uid: st.uid, gid: st.gid, size: st.size, blksize: st.blksize, blocks: st.blocks,
    atime: st.atimeMs, mtime: st.mtimeMs, ctime: st.ctimeMs, dev: st.ino % 2 ** 32 };
}
// open, read, write and release of these are logged (not of /big: too many)
const logData = (op, p) => { if (p === REAL || p === '/hello') log({ op, path: p }); };
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000;
const CHUNK = 65536;
const GiB = 1024 ** 3;
const T0 = 1_600_000_000_000; // fixed times: nothing depends on the clock

let nextIno = 2 ** 40 + 100; // every inode number needs more than 32 bits
let nextFh = 2 ** 45 + 1;     // and so does every file handle
const nodes = new Map();      // path -> node (hard links share the node)
const handles = new Map();    // fh -> node

function makeNode(mode, ctx, extra = {}) {
  return {
    ino: nextIno++, mode, nlink: (mode & S_IFMT) === S_IFDIR ? 2 : 1,
    uid: ctx.uid, gid: ctx.gid, size: 0, rdev: 0, blksize: 4096, blocks: 0,
    atime: T0, mtime: T0, ctime: T0, chunks: new Map(), xattrs: new Map(), target: null, pattern: false,
    ...extra,
  };
}
const root = { uid: 0, gid: 0 };
nodes.set('/', makeNode(S_IFDIR | 0o1777, root, { ino: 2 ** 40 }));
// dev: its content never changes (with directHandles, the binding opens it itself)
const hello = makeNode(S_IFREG | 0o644, root, { ino: 2 ** 52 + 3, dev: STABLE_CONTENT });
writeData(hello, Buffer.from('hello world\n'), 0);
nodes.set('/hello', hello);
// 6 GiB, content generated: the 8 bytes at every offset k*8 hold k*8 (big endian)
nodes.set('/big', makeNode(S_IFREG | 0o444, root, { ino: 2 ** 33 + 7, size: 6 * GiB, pattern: true }));
nodes.set('/dir', makeNode(S_IFDIR | 0o755, root));
nodes.set('/dir/inner', makeNode(S_IFREG | 0o600, root));
const xa = makeNode(S_IFREG | 0o644, root);
xa.xattrs.set('user.small', Buffer.from('v'));
xa.xattrs.set('user.big', Buffer.alloc(300, 'x'));          // larger than a 128-byte first try
for (let i = 0; i < 20; i++) xa.xattrs.set(`user.attribute-number-${i}`, Buffer.from(String(i)));
nodes.set('/xattrs', xa);
// distinct owner and times, to see that cached attributes are JS's to the field
nodes.set('/link', makeNode(S_IFLNK | 0o777, { uid: 1234, gid: 5678 }, {
  ino: 2 ** 44 + 11, target: 'hello', size: 5, atime: T0 + 1001, mtime: T0 + 2002, ctime: T0 + 3003,
}));

const parentOf = (p) => p.slice(0, p.lastIndexOf('/')) || '/';
const baseOf = (p) => p.slice(p.lastIndexOf('/') + 1);
function get(p) {
  const n = nodes.get(p);
  if (!n) throw new FuseError('ENOENT');
  return n;
}
function children(dir) {
  const out = [];
  for (const p of nodes.keys()) if (p !== '/' && parentOf(p) === dir) out.push(p);
  return out;
}
function addNode(p, node) {
  const parent = get(parentOf(p));
  if ((parent.mode & S_IFMT) !== S_IFDIR) throw new FuseError('ENOTDIR');
  if (nodes.has(p)) throw new FuseError('EEXIST');
  nodes.set(p, node);
  if ((node.mode & S_IFMT) === S_IFDIR) parent.nlink++;
}
function patternByte(off) {
  const block = off - (off % 8);
  return Math.floor(block / 2 ** (8 * (7 - (off % 8)))) % 256;
}
function readData(node, buf, len, pos) {
  const n = Math.max(0, Math.min(len, node.size - pos));
  if (node.pattern) {
    for (let i = 0; i < n; i++) buf[i] = patternByte(pos + i);
    return n;
  }
  for (let done = 0; done < n;) {
    const off = pos + done, ci = Math.floor(off / CHUNK), co = off % CHUNK;
    const take = Math.min(n - done, CHUNK - co);
    const chunk = node.chunks.get(ci);
    if (chunk) chunk.copy(buf, done, co, co + take);
    else buf.fill(0, done, done + take);
    done += take;
  }
  return n;
}
function writeData(node, data, pos) {
  for (let done = 0; done < data.length;) {
    const off = pos + done, ci = Math.floor(off / CHUNK), co = off % CHUNK;
    const take = Math.min(data.length - done, CHUNK - co);
    let chunk = node.chunks.get(ci);
    if (!chunk) node.chunks.set(ci, (chunk = Buffer.alloc(CHUNK)));
    data.copy(chunk, co, done, done + take);
    done += take;
  }
  node.size = Math.max(node.size, pos + data.length);
  node.blocks = Math.ceil(node.size / 512);
  return data.length;
}
function setSize(node, size) {
  if (node.pattern) throw new FuseError('EPERM');
  for (const ci of [...node.chunks.keys()]) {
    if (ci * CHUNK >= size) node.chunks.delete(ci);
    else if ((ci + 1) * CHUNK > size) node.chunks.get(ci).fill(0, size - ci * CHUNK);
  }
  node.size = size;
  node.blocks = Math.ceil(size / 512);
}
function openFh(node) {
  const fh = nextFh++;
  handles.set(fh, node);
  return fh;
}
function byFh(fh) {
  const node = handles.get(fh);
  if (!node) throw new FuseError('EBADF', `unknown file handle ${fh}`);
  return node;
}

let mounted = null; // the FuseMount, once mounted

const ops = {
  getattr(p) {
    if (p.startsWith('/.marker-')) log({ op: 'marker', n: Number(p.slice(9)) }); // see TestFs.sync()
    else if (p === '/.ctl-clear') {
      mounted?.clearCache();
      log({ op: 'ctl', what: 'clear' });
    } else if (p.startsWith('/.ctl-counts-')) {
      log({ op: 'counts', n: Number(p.slice(13)), counts: mounted?.requestCounts() ?? {} });
    } else if (p === '/.ctl-content') {
      mounted?.cacheContent('/hello', contentFile);
      log({ op: 'ctl', what: 'content' });
    } else if (p === '/.ctl-publish') {
      mounted?.cacheAttrs(['/dir/inner'], [get('/dir/inner')]);
      log({ op: 'ctl', what: 'publish' });
    } else log({ op: 'getattr', path: p });
    if (p === REAL && backing) return realStat();
    return get(p);
  },
  fgetattr(p, fh) {
    log({ op: 'fgetattr', path: p });
    if (p === REAL && backing) return realStat();
    return byFh(fh);
  },
  readdir(p) {
    log({ op: 'readdir', path: p });
    const dir = get(p);
    const kids = children(p);
    return {
      names: ['.', '..', ...kids.map(baseOf)],
      stats: [dir, get(parentOf(p)), ...kids.map((k) => nodes.get(k))],
    };
  },
  open(p, flags) {
    logData('open', p);
    if (p === REAL && backing) return DIRECT_FH + fs.openSync(backing, flags & 3);
    // handle 0, as libfuse's own open gives: what published content serves
    if (p === '/hello' && contentFile && (flags & 3) === 0) return 0;
    return openFh(get(p));
  },
  create(p, mode, ctx) {
    log({ op: 'create', path: p, mode, uid: ctx.uid, gid: ctx.gid, pid: ctx.pid });
    const node = makeNode(mode, ctx);
    addNode(p, node);
    return openFh(node);
  },
  read(p, fh, buf, len, pos) {
    logData('read', p);
    return readData(fh === 0 ? get(p) : byFh(fh), buf, len, pos);
  },
  // async on purpose: the binding must accept promises too
  async write(p, fh, buf, len, pos) {
    logData('write', p);
    await Promise.resolve();
    return writeData(byFh(fh), Buffer.from(buf.subarray(0, len)), pos);
  },
  release(p, fh) {
    logData('release', p);
    if (fh === 0) return;
    byFh(fh);
    handles.delete(fh);
  },
  flush: () => {},
  fsync: () => {},
  truncate(p, size) {
    log({ op: 'truncate', path: p, size });
    setSize(get(p), size);
  },
  ftruncate(p, fh, size) {
    log({ op: 'ftruncate', path: p, size });
    setSize(byFh(fh), size);
  },
  readlink(p) {
    log({ op: 'readlink', path: p });
    const n = get(p);
    if (n.target === null) throw new FuseError('EINVAL');
    mounted?.cacheLink(p, n.target); // a no-op without attrCache
    return n.target;
  },
  symlink(target, p, ctx) {
    // a target starting "stable-" makes a symlink that says it never changes (as a commit's do)
    const stable = target.startsWith('stable-') ? { dev: STABLE_CONTENT } : {};
    addNode(p, makeNode(S_IFLNK | 0o777, ctx, { target, size: Buffer.byteLength(target), ...stable }));
  },
  link(existing, p) {
    const n = get(existing);
    addNode(p, n);
    n.nlink++;
  },
  mkdir(p, mode, ctx) {
    addNode(p, makeNode(S_IFDIR | (mode & 0o7777), ctx));
  },
  mknod(p, mode, rdev, ctx) {
    log({ op: 'mknod', path: p, mode, rdev });
    addNode(p, makeNode(mode, ctx, { rdev }));
  },
  unlink(p) {
    const n = get(p);
    nodes.delete(p);
    n.nlink--;
  },
  rmdir(p) {
    const n = get(p);
    if (children(p).length) throw new FuseError('ENOTEMPTY');
    nodes.delete(p);
    n.nlink = 0;
    get(parentOf(p)).nlink--;
  },
  rename(from, to) {
    get(from);
    if (nodes.has(to)) ops.unlink(to);
    for (const p of [...nodes.keys()]) {
      if (p === from || p.startsWith(from + '/')) {
        nodes.set(to + p.slice(from.length), nodes.get(p));
        nodes.delete(p);
      }
    }
  },
  chmod(p, mode) {
    log({ op: 'chmod', path: p, mode });
    const n = get(p);
    n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
  },
  chown(p, uid, gid) {
    log({ op: 'chown', path: p, uid, gid });
    const n = get(p);
    if (uid !== ID_UNCHANGED) n.uid = uid;
    if (gid !== ID_UNCHANGED) n.gid = gid;
  },
  utimens(p, atime, mtime) {
    log({ op: 'utimens', path: p, atime, mtime });
    const n = get(p);
    const now = Date.now();
    if (atime !== UTIME_OMIT) n.atime = atime === UTIME_NOW ? now : atime;
    if (mtime !== UTIME_OMIT) n.mtime = mtime === UTIME_NOW ? now : mtime;
  },
  getxattr(p, name) {
    log({ op: 'getxattr', path: p, name });
    return get(p).xattrs.get(name) ?? null;
  },
  listxattr: (p) => [...get(p).xattrs.keys()],
  setxattr(p, name, value, flags) {
    const x = get(p).xattrs;
    if (flags & 1 && x.has(name)) throw new FuseError('EEXIST');
    if (flags & 2 && !x.has(name)) throw new FuseError('ENODATA');
    x.set(name, Buffer.from(value)); // copy: value is only lent to us
  },
  removexattr(p, name) {
    if (!get(p).xattrs.delete(name)) throw new FuseError('ENODATA');
  },
  statfs: () => ({
    bsize: 4096, frsize: 4096,
    blocks: 2 ** 33 + 5, bfree: 2 ** 33 + 3, bavail: 2 ** 33 + 1, // need 64 bits
    files: 2 ** 32 + 9, ffree: 2 ** 32 + 8, favail: 2 ** 32 + 8, namemax: 255,
  }),
  access: () => {},
};

if (many > 0) {
  nodes.set('/many', makeNode(S_IFDIR | 0o755, root));
  for (let i = 0; i < many; i++) {
    const node = makeNode(S_IFREG | 0o640, { uid: 1000 + i, gid: 2000 + i }, { ino: 2 ** 48 + i * 7 });
    writeData(node, Buffer.alloc(i, 'm'), 0);
    nodes.set(`/many/f${String(i).padStart(4, '0')}`, node);
  }
}

// With a backing file, /lonly is a directory only the layer has (its mirror: the backing
// file's directory + /lonly).
if (backing) nodes.set('/lonly', makeNode(S_IFDIR | 0o755, root, { dev: LAYER_ONLY_DIR }));

// {"changes": true}: a writable tree keeping the native cache true, publishing
// what it knows after each change (everything is at hand in memory); with
// {"backing": FILE}, FILE's directory mirrors the tree for /real (layerDir).
if (options.changes === true) {
  options.changes = { statNow: (p) => (p === REAL && backing ? realStat() : nodes.get(p) ?? null), ...(backing ? { layerDir: backing.slice(0, backing.lastIndexOf('/')) } : {}) };
}

try {
  mounted = await mount(mnt, ops, options);
  process.stdout.write('READY\n');
} catch (err) {
  process.stdout.write(`MOUNT_FAILED ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
