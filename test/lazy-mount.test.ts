// Lazy mounts of a remote commit, for real: nginx serves an archive repository, a local
// repository that has never pulled mounts REMOTE:BRANCH, and each object is fetched when a
// read first needs it, verified, and kept. Network faults go through a TCP relay the test
// controls: while it is "down" it accepts connections and never answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import crypto from 'node:crypto';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ht, htAsync, htOk, requireRoot } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { forceUnmount, isMounted, requireFuse, unmountAll } from './helpers/mounts.js';
import { startCachingProxy, startNginx, type Nginx } from './helpers/nginx.js';
import { contentObjects } from './helpers/trees.js';
import { parsePack, serializePack } from '../src/store/prefetch-pack.js';

const s = scratch('hacktree-lazy-');
const src = join(s.dir, 'tree');
const pub = join(s.dir, 'www', 'pub');
let nginx: Nginx;
let relay: Relay;
let commit = '';

/** A TCP relay to nginx that can be switched off: then it holds connections and says nothing. */
interface Relay { port: number; up: boolean; close(): Promise<void> }
async function startRelay(to: number): Promise<Relay> {
  const held = new Set<net.Socket>();
  const r = { port: 0, up: true, close: async () => {} };
  const server = net.createServer((c) => {
    held.add(c);
    c.on('close', () => held.delete(c));
    c.on('error', () => {});
    if (!r.up) return; // a black hole: the client waits for its own deadline
    const n = net.connect(to, '127.0.0.1');
    n.on('error', () => c.destroy());
    c.pipe(n).pipe(c);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r.port = (server.address() as net.AddressInfo).port;
  r.close = () => new Promise<void>((res) => { for (const c of held) c.destroy(); server.close(() => res()); });
  return r;
}

/** A local repository that has never pulled, with `origin` pointing through the relay. */
let n = 0;
function freshRepo(): string {
  const repo = join(s.dir, `local-${++n}`);
  htOk(['--repo', repo, 'init']);
  htOk(['--repo', repo, 'remote', 'add', 'origin', `http://127.0.0.1:${relay.port}/pub`]);
  return repo;
}

/** Asynchronous: the relay runs on this process's event loop, which must go on while hacktree talks through it. */
async function mountLazy(repo: string, mnt: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
  fs.mkdirSync(mnt, { recursive: true });
  const r = await htAsync(['--repo', repo, 'mount', ...extra, 'origin:os', mnt], env);
  if (r.code !== 0) throw new Error(`mount exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Reads a file in a child process (never in this one: a stuck read must not stop the test), with its errno. */
function readInChild(path: string): Promise<{ ok: boolean; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ ok: code === 0, out: code === 0 ? out : err, ms: Date.now() - t0 }));
  });
}

const hasObject = (repo: string, csum: string, ext = 'file'): boolean => fs.existsSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`));
const until = async (ok: () => boolean): Promise<boolean> => {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  return ok();
};
/** The content object checksum of PATH in the published commit. */
const objectOf = (path: string): string => {
  const line = htOk(['--repo', pub, 'ls', '-C', commit, path]).trim();
  return line.split(/\s+/).find((w) => /^[0-9a-f]{64}$/.test(w))!;
};

beforeAll(async () => {
  requireRoot('mounts with allow_other');
  requireFuse();
  for (const d of ['a', 'b', 'c']) {
    fs.mkdirSync(join(src, d), { recursive: true });
    for (let i = 0; i < 5; i++) fs.writeFileSync(join(src, d, `f${i}`), `${d}${i} `.repeat(1000 + i));
  }
  fs.writeFileSync(join(src, 'top'), 'top file\n');
  // Incompressible, so its .filez is larger than the part a listing asks for.
  fs.mkdirSync(join(src, 'big'));
  for (const name of ['one', 'two']) fs.writeFileSync(join(src, 'big', name), crypto.randomBytes(200_000));
  htOk(['--repo', pub, 'init', '--mode', 'archive']);
  commit = htOk(['--repo', pub, 'commit', '-b', 'os', '-s', 'lazy', src]).trim();
  nginx = await startNginx(join(s.dir, 'www'), join(s.dir, 'nginx'));
  relay = await startRelay(nginx.port);
});

afterAll(async () => {
  unmountAll();
  await relay?.close();
  await nginx?.stop();
  s.cleanup();
});

describe('a lazy mount of a remote that was never pulled', () => {
  const repo = () => join(s.dir, 'local-1');
  const mnt = join(s.dir, 'm1');

  it('mounts at once and fetches only what reads need, verified and kept', async () => {
    freshRepo();
    nginx.clearLog();
    expect(await mountLazy(repo(), mnt)).toContain(commit);
    try {
      // Nothing below the root directory was fetched by the mount itself.
      for (const d of ['a', 'b', 'c']) expect(hasObject(repo(), objectOf(`/${d}/f0`))).toBe(false);
      expect((await readInChild(join(mnt, 'a', 'f1'))).out).toBe(fs.readFileSync(join(src, 'a', 'f1'), 'utf8'));
      expect(hasObject(repo(), objectOf('/a/f1'))).toBe(true);
      // b and c were never looked into: none of their objects came over the network.
      for (const d of ['b', 'c']) for (let i = 0; i < 5; i++) expect(hasObject(repo(), objectOf(`/${d}/f${i}`))).toBe(false);
      const fetched = nginx.log().filter((e) => e.uri.endsWith('.filez')).map((e) => e.uri);
      expect(new Set(fetched).size).toBe(fetched.length); // no object twice
      expect(fetched.length).toBeLessThan(contentObjects(pub).size);
      const state = JSON.parse(htOk(['mounts', '--json'])).find((m: { mountpoint: string }) => m.mountpoint === mnt);
      expect(state.commit).toBe(commit);
      // The mount reports what it fetched within a second or two (the daemon rewrites its state).
      for (let i = 0; i < 30 && !(state.lazy?.objects > 0); i++) {
        await new Promise((r) => setTimeout(r, 100));
        Object.assign(state, JSON.parse(htOk(['mounts', '--json'])).find((m: { mountpoint: string }) => m.mountpoint === mnt));
      }
      expect(state.lazy).toMatchObject({ remote: 'origin', failures: 0 });
      expect(state.lazy.objects).toBeGreaterThan(0);
    } finally {
      forceUnmount(mnt);
    }
    // A large file is listed by the header of its object, and its content fetched when it is read.
    try {
      await mountLazy(repo(), mnt);
      const listed = await new Promise<string>((res) => {
        const p = spawn('stat', ['-c', '%s %a', join(mnt, 'big', 'one')], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('close', () => res(out.trim()));
      });
      expect(listed).toBe('200000 644');
      expect(hasObject(repo(), objectOf('/big/one'))).toBe(false);
      const read = await readInChild(join(mnt, 'big', 'one'));
      expect(Buffer.from(read.out, 'latin1').length).toBeGreaterThan(0);
      expect(hasObject(repo(), objectOf('/big/one'))).toBe(true);
      expect(fs.readFileSync(join(repo(), 'objects', objectOf('/big/one').slice(0, 2), `${objectOf('/big/one').slice(2)}.file`))).toEqual(fs.readFileSync(join(src, 'big', 'one')));
    } finally {
      forceUnmount(mnt);
    }
    // The commit is partial, as ostree marks one: fsck expects its missing objects.
    expect(fs.existsSync(join(repo(), 'state', `${commit}.commitpartial`))).toBe(true);
    expect(ht(['--repo', repo(), 'fsck']).code).toBe(0);
  });

  it('mounts again offline, serves what is here, and fails a read that needs the network with EIO in bounded time', async () => {
    relay.up = false;
    try {
      // HACKTREE_HTTP_TIMEOUT_MS: the stuck connection is given up soon, so the mount can recover below.
      await mountLazy(repo(), mnt, ['--fetch-timeout', '2'], { HACKTREE_HTTP_TIMEOUT_MS: '1500' });
      const here = await readInChild(join(mnt, 'a', 'f1'));
      expect(here.out).toBe(fs.readFileSync(join(src, 'a', 'f1'), 'utf8'));
      const away = await readInChild(join(mnt, 'b', 'f2'));
      expect(away.ok).toBe(false);
      expect(away.out).toMatch(/Input\/output error/);
      expect(away.ms).toBeLessThan(60_000); // bounded (2 s asked; generous for a loaded machine)
      // The daemon lives on and still serves what is here.
      expect((await readInChild(join(mnt, 'a', 'f3'))).ok).toBe(true);
      // The server comes back: the same mount reads on.
      relay.up = true;
      let back = { ok: false, out: '', ms: 0 };
      for (let i = 0; i < 40 && !back.ok; i++) {
        back = await readInChild(join(mnt, 'b', 'f2'));
        if (!back.ok) await new Promise((r) => setTimeout(r, 500));
      }
      expect(back.out).toBe(fs.readFileSync(join(src, 'b', 'f2'), 'utf8'));
    } finally {
      relay.up = true;
      forceUnmount(mnt);
    }
  });

  it('never serves or keeps an object the server sends wrong', async () => {
    const victim = objectOf('/c/f3');
    const file = join(pub, 'objects', victim.slice(0, 2), `${victim.slice(2)}.filez`);
    const good = fs.readFileSync(file);
    // Another object's bytes under this name: well-formed, and wrong.
    fs.copyFileSync(join(pub, 'objects', objectOf('/c/f4').slice(0, 2), `${objectOf('/c/f4').slice(2)}.filez`), file);
    try {
      await mountLazy(repo(), mnt);
      const r = await readInChild(join(mnt, 'c', 'f3'));
      expect(r.ok).toBe(false);
      expect(r.out).toMatch(/Input\/output error/);
      expect(hasObject(repo(), victim)).toBe(false);
      // The rest is served. (The directory holding the bad object is not listed until it can
      // be listed whole: the kernel would otherwise keep a listing without it for good.)
      expect((await readInChild(join(mnt, 'a', 'f0'))).out).toBe(fs.readFileSync(join(src, 'a', 'f0'), 'utf8'));
      expect((await readInChild(join(mnt, 'c', 'f4'))).ok).toBe(false);
      // A large object too: its header is well-formed (another file's, of the same size and mode), its content is not this one's.
      const bigVictim = join(pub, 'objects', objectOf('/big/two').slice(0, 2), `${objectOf('/big/two').slice(2)}.filez`);
      const bigGood = fs.readFileSync(bigVictim);
      fs.copyFileSync(join(pub, 'objects', objectOf('/big/one').slice(0, 2), `${objectOf('/big/one').slice(2)}.filez`), bigVictim);
      try {
        const big = await readInChild(join(mnt, 'big', 'two'));
        expect(big.ok).toBe(false);
        expect(big.out).toMatch(/Input\/output error/);
        expect(hasObject(repo(), objectOf('/big/two'))).toBe(false);
      } finally {
        fs.writeFileSync(bigVictim, bigGood);
      }
      // Once the server sends the right bytes, the same mount lists and reads the directory.
      fs.writeFileSync(file, good);
      expect((await readInChild(join(mnt, 'c', 'f3'))).out).toBe(fs.readFileSync(join(src, 'c', 'f3'), 'utf8'));
    } finally {
      fs.writeFileSync(file, good);
      forceUnmount(mnt);
    }
  });

  it('gives every byte to a walk that reads all files in order (the next files fetched ahead)', async () => {
    const repo = freshRepo();
    const sum = (dir: string): Promise<string> => new Promise((res) => {
      const p = spawn('sh', ['-c', 'cd "$1" && find . -type f | LC_ALL=C sort | xargs cat | sha256sum', 'sh', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => res(out.trim()));
    });
    const m = join(s.dir, 'm-walk');
    try {
      await mountLazy(repo, m);
      expect(await sum(m)).toBe(await sum(src));
    } finally {
      forceUnmount(m);
    }
  });

  it("fetches the commit's directories ahead of lookups, and no file's content", async () => {
    const repo = freshRepo();
    const m = join(s.dir, 'm-dirs');
    nginx.clearLog();
    try {
      await mountLazy(repo, m);
      // Nothing looks into the mount: its directories come by themselves (the root's with the commit).
      const trees = ['/a', '/b', '/c', '/big'].map(objectOf);
      expect(await until(() => trees.every((t) => hasObject(repo, t, 'dirtree')))).toBe(true);
      expect(nginx.log().filter((e) => e.uri.endsWith('.filez'))).toEqual([]);
    } finally {
      forceUnmount(m);
    }
  });

  it('fetches ahead the rest of a subtree once a walk has read a directory whole and gone on to the next', async () => {
    const repo = freshRepo();
    const m = join(s.dir, 'm-ahead');
    try {
      await mountLazy(repo, m);
      // As tar does: every file of a, in listing order, then into b.
      const c4 = objectOf('/c/f4');
      for (let i = 0; i < 5; i++) expect((await readInChild(join(m, 'a', `f${i}`))).ok).toBe(true);
      expect(hasObject(repo, c4)).toBe(false);
      expect((await readInChild(join(m, 'b', 'f0'))).ok).toBe(true);
      // c comes after b: its files arrive without being read, and so do b's.
      const ahead = ['b', 'c'].flatMap((d) => [0, 1, 2, 3, 4].map((i) => objectOf(`/${d}/f${i}`)));
      expect(await until(() => ahead.every((o) => hasObject(repo, o)))).toBe(true);
    } finally {
      forceUnmount(m);
    }
  });

  it('is completed by a pull: no longer partial, fsck clean, and a mount needs no remote', async () => {
    const pulled = await htAsync(['--repo', repo(), 'pull', 'origin', 'os']);
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    expect(fs.existsSync(join(repo(), 'state', `${commit}.commitpartial`))).toBe(false);
    expect(ht(['--repo', repo(), 'fsck']).code).toBe(0);
    relay.up = false;
    try {
      await mountLazy(repo(), mnt);
      for (const d of ['a', 'b', 'c']) expect((await readInChild(join(mnt, d, 'f4'))).out).toBe(fs.readFileSync(join(src, d, 'f4'), 'utf8'));
      expect(JSON.parse(htOk(['mounts', '--json'])).find((m: { mountpoint: string }) => m.mountpoint === mnt).lazy).toBeUndefined();
    } finally {
      relay.up = true;
      forceUnmount(mnt);
    }
    expect(isMounted(mnt)).toBe(false);
  });
});

describe('prefetch', () => {
  it('fetches the subtrees asked for and nothing else, then all of it, which completes the commit', async () => {
    const repo = freshRepo();
    const r = await htAsync(['--repo', repo, 'prefetch', 'origin:os', '/a', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ commit, complete: false });
    for (let i = 0; i < 5; i++) {
      expect(hasObject(repo, objectOf(`/a/f${i}`))).toBe(true);
      expect(hasObject(repo, objectOf(`/b/f${i}`))).toBe(false);
    }
    // Offline, the prefetched subtree mounts and reads.
    const mnt = join(s.dir, 'm-prefetch');
    relay.up = false;
    try {
      await mountLazy(repo, mnt, ['--fetch-timeout', '1']);
      expect((await readInChild(join(mnt, 'a', 'f2'))).out).toBe(fs.readFileSync(join(src, 'a', 'f2'), 'utf8'));
    } finally {
      relay.up = true;
      forceUnmount(mnt);
    }
    const all = JSON.parse((await htAsync(['--repo', repo, 'prefetch', 'origin:os', '--json'])).stdout);
    expect(all).toMatchObject({ commit, complete: true });
    expect(fs.existsSync(join(repo, 'state', `${commit}.commitpartial`))).toBe(false);
    expect(ht(['--repo', repo, 'fsck']).code).toBe(0);
  });

  it('takes only REMOTE:BRANCH of a configured remote (exit 2 otherwise)', async () => {
    const repo = freshRepo();
    const r = await htAsync(['--repo', repo, 'prefetch', 'elsewhere:os']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('a lazy root', () => {
  it('root create NAME REMOTE:BRANCH --lazy makes a root whose mount fetches what it reads', async () => {
    const sys = join(s.dir, 'sys-lazy');
    const H = (...a: string[]) => htAsync(['--sysroot', sys, ...a]);
    expect((await H('init')).code).toBe(0);
    expect((await H('remote', 'add', 'origin', `http://127.0.0.1:${relay.port}/pub`)).code).toBe(0);
    const created = await H('root', 'create', 'r', 'origin:os', '--lazy');
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain(commit);
    const repo = join(sys, 'repo');
    expect(hasObject(repo, objectOf('/c/f2'))).toBe(false);
    const mounted = await H('root', 'mount', 'r');
    expect(mounted.stderr).toBe('');
    const mnt = join(sys, 'roots', 'r', 'mnt');
    try {
      expect((await readInChild(join(mnt, 'c', 'f2'))).out).toBe(fs.readFileSync(join(src, 'c', 'f2'), 'utf8'));
      expect(hasObject(repo, objectOf('/c/f2'))).toBe(true);
      expect(JSON.parse(htOk(['mounts', '--json'])).find((m: { mountpoint: string }) => m.mountpoint === mnt).lazy.remote).toBe('origin');
    } finally {
      await H('root', 'umount', 'r');
      forceUnmount(mnt);
    }
    // Without --lazy, a branch that is not here is an unknown revision, as before.
    const plain = await H('root', 'create', 'r2', 'origin:elsewhere');
    expect(plain.code).toBe(1);
    const bad = await H('root', 'create', 'r3', 'os', '--lazy');
    expect(bad.code).toBe(2);
  });
});

/** A first machine's lazy mount that reads b/f3, and the prefetch list it recorded. */
async function recordList(mnt: string): Promise<{ first: string; list: string }> {
  const first = freshRepo();
  try {
    await mountLazy(first, mnt);
    expect((await readInChild(join(mnt, 'b', 'f3'))).ok).toBe(true);
  } finally {
    forceUnmount(mnt);
  }
  return { first, list: join(first, 'hacktree', 'prefetch', `${commit}.list`) };
}

describe('prefetch lists', () => {
  it("records what a mount fetched while it started, and a second machine's mount fetches that first, by itself", async () => {
    const mnt = join(s.dir, 'm-list');
    const { first, list } = await recordList(mnt);
    const entries = fs.readFileSync(list, 'utf8').trim().split('\n');
    expect(entries).toContain(`f ${objectOf('/b/f3')}`);
    for (const e of entries) expect(e).toMatch(/^[tmfh] [0-9a-f]{64}$/);
    // Published beside the objects, as the content maps are.
    fs.mkdirSync(join(pub, 'hacktree', 'prefetch'), { recursive: true });
    fs.copyFileSync(list, join(pub, 'hacktree', 'prefetch', `${commit}.list`));
    const second = freshRepo();
    try {
      await mountLazy(second, mnt);
      // Nothing reads b/f3 here: the mount fetches it from the list in the background.
      const b3 = objectOf('/b/f3');
      expect(await until(() => hasObject(second, b3))).toBe(true);
      expect(hasObject(second, objectOf('/c/f3'))).toBe(false);
    } finally {
      forceUnmount(mnt);
      fs.rmSync(join(pub, 'hacktree', 'prefetch'), { recursive: true, force: true });
    }
  });
});

describe('prefetch packs', () => {
  it("a published pack brings a second machine's start in one request; an entry with wrong bytes is dropped, never served", async () => {
    const mnt = join(s.dir, 'm-pack');
    const { first, list } = await recordList(mnt);
    const b3 = objectOf('/b/f3');
    const published = join(pub, 'hacktree', 'prefetch');
    try {
      const r = JSON.parse(htOk(['--repo', pub, 'prefetch-publish', list, '--json']));
      expect(r).toMatchObject({ commit, missing: 0 });
      expect(r.packed).toBe(r.listed);
      // Not from a repository a server could not serve a pack from.
      const bare = ht(['--repo', first, 'prefetch-publish', list]);
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toMatch(/^hacktree: .*a prefetch pack is published from the archive repository a server serves\n$/);

      const second = freshRepo();
      nginx.clearLog();
      try {
        await mountLazy(second, mnt);
        expect(await until(() => hasObject(second, b3))).toBe(true);
        expect((await readInChild(join(mnt, 'b', 'f3'))).out).toBe(fs.readFileSync(join(src, 'b', 'f3'), 'utf8'));
      } finally {
        forceUnmount(mnt);
      }
      const asked = nginx.log().map((e) => e.uri);
      expect(asked.some((u) => u.endsWith(`/hacktree/prefetch/${commit}.pack`))).toBe(true);
      expect(asked.filter((u) => u.includes(`/objects/${b3.slice(0, 2)}/${b3.slice(2)}`))).toEqual([]);

      // b/f3's entry tampered with: its object comes from the server, right.
      const packFile = join(published, `${commit}.pack`);
      const tampered = parsePack(fs.readFileSync(packFile)).map((e) => {
        if (e.checksum !== b3) return e;
        const bytes = Buffer.from(e.bytes);
        bytes[bytes.length - 1] ^= 0xff;
        return { ...e, bytes };
      });
      fs.writeFileSync(packFile, serializePack(tampered));
      const third = freshRepo();
      nginx.clearLog();
      try {
        await mountLazy(third, mnt);
        expect((await readInChild(join(mnt, 'b', 'f3'))).out).toBe(fs.readFileSync(join(src, 'b', 'f3'), 'utf8'));
      } finally {
        forceUnmount(mnt);
      }
      expect(nginx.log().some((e) => e.uri.includes(`/objects/${b3.slice(0, 2)}/${b3.slice(2)}.filez`))).toBe(true);
      expect(ht(['--repo', third, 'fsck']).code).toBe(0);
    } finally {
      fs.rmSync(published, { recursive: true, force: true });
    }
  });
});

describe('through a caching HTTP proxy', () => {
  it("serves a second machine's lazy mount from the proxy's cache, not the origin", async () => {
    const proxy = await startCachingProxy(nginx.port, join(s.dir, 'proxy'));
    try {
      const viaProxy = (): string => {
        const repo = join(s.dir, `local-${++n}`);
        htOk(['--repo', repo, 'init']);
        htOk(['--repo', repo, 'remote', 'add', 'origin', `http://127.0.0.1:${proxy.port}/pub`]);
        return repo;
      };
      const first = join(s.dir, 'm-proxy-1'), second = join(s.dir, 'm-proxy-2');
      const readAll = async (mnt: string): Promise<void> => {
        for (const d of ['a', 'b', 'c']) expect((await readInChild(join(mnt, d, 'f1'))).out).toBe(fs.readFileSync(join(src, d, 'f1'), 'utf8'));
      };
      try {
        await mountLazy(viaProxy(), first);
        await readAll(first);
        nginx.clearLog();
        await mountLazy(viaProxy(), second);
        await readAll(second);
      } finally {
        forceUnmount(first);
        forceUnmount(second);
      }
      // The origin saw the second machine ask for its ref, and for no object at all.
      const origin = nginx.log().filter((e) => e.port === nginx.port);
      expect(origin.filter((e) => e.uri.includes('/objects/'))).toEqual([]);
      expect(origin.some((e) => e.uri.endsWith('/refs/heads/os'))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe('lazy mount errors', () => {
  it('names a branch the remote does not have, exit 1', async () => {
    const repo = freshRepo();
    fs.mkdirSync(join(s.dir, 'm2'), { recursive: true });
    const r = await htAsync(['--repo', repo, 'mount', 'origin:nope', join(s.dir, 'm2')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("hacktree: remote 'origin' has no branch 'nope'");
  });
});
