// Pulling over HTTP from a real nginx on 127.0.0.1, and from a hostile server
// written here: interop with ostree both ways, resume after SIGKILL, refusal of
// bad objects, content rebuilt locally after a permission-only change, signatures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ht, htAsync, htOk, requireRoot, requireTool, sh, ROOT, HACKTREE, type Run } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { describeTree } from './helpers/awkward-tree.js';
import { startNginx, freePort, type Nginx } from './helpers/nginx.js';
import { buildGeneratedTree, contentObjects } from './helpers/trees.js';
import { serializeDirTree } from '../src/store/objects/dirtree.js';
import { serializeCommit, parseCommit } from '../src/store/objects/commit.js';
import { sha256Hex } from '../src/store/checksum.js';

const ostree = (repo: string, ...args: string[]) => sh('ostree', [`--repo=${repo}`, ...args]);
const filezUris = (n: Nginx, port = n.port) => n.log().filter((e) => e.port === port && e.uri.endsWith('.filez') && e.status === 200).map((e) => e.uri);
const objOfUri = (uri: string) => { const m = /objects\/([0-9a-f]{2})\/([0-9a-f]{62})\.filez$/.exec(uri)!; return m[1]! + m[2]!; };

function expectOneLineError(r: Run, pattern: RegExp, code = 1): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

function refsOf(repo: string): string[] {
  return htOk(['--repo', repo, 'refs']).split('\n').filter(Boolean);
}

function expectFsckOk(repo: string): void {
  expect(htOk(['--repo', repo, 'fsck'])).toMatch(/: ok$/m);
}

describe('pull over HTTP', () => {
  const s = scratch('hacktree-pull-');
  const bbRoot = join(s.dir, 'busybox');
  const genRoot = join(s.dir, 'generated');
  const pubBB = join(s.dir, 'www', 'pub-busybox');
  const pubGen = join(s.dir, 'www', 'pub-gen');
  const pubOstree = join(s.dir, 'www', 'pub-ostree');
  let nginx: Nginx;
  let bbCommit = '', genCommit = '';
  let n = 0;
  const fresh = (mode = 'bare-user'): string => {
    const r = join(s.dir, `local-${++n}`);
    htOk(['--repo', r, 'init', '--mode', mode]);
    return r;
  };

  beforeAll(async () => {
    requireRoot('the busybox root has a setuid file and the bare mode stores owners');
    requireTool('ostree', 'ostree');
    requireTool('busybox', 'busybox-static');
    sh(join(ROOT, 'scripts', 'make-busybox-root.sh'), [bbRoot]);
    buildGeneratedTree(genRoot);
    htOk(['--repo', pubBB, 'init', '--mode', 'archive']);
    bbCommit = htOk(['--repo', pubBB, 'commit', '-b', 'os', '-s', 'busybox', bbRoot]).trim();
    htOk(['--repo', pubBB, 'summary', '-u']);
    htOk(['--repo', pubGen, 'init', '--mode', 'archive']);
    genCommit = htOk(['--repo', pubGen, 'commit', '-b', 'gen', '-s', 'generated', genRoot]).trim();
    htOk(['--repo', pubGen, 'summary', '-u']);
    ostree(pubOstree, 'init', '--mode=archive');
    ostree(pubOstree, 'commit', '-b', 'os', `--tree=dir=${bbRoot}`, '-s', 'by ostree');
    ostree(pubOstree, 'summary', '-u');
    nginx = await startNginx(join(s.dir, 'www'), join(s.dir, 'nginx'));
  });
  afterAll(async () => {
    await nginx?.stop();
    s.cleanup();
  });

  it('publishes a content map beside the objects and an ostree summary', () => {
    expect(fs.existsSync(join(pubBB, 'hacktree', 'content-maps', `${bbCommit}.map`))).toBe(true);
    expect(ostree(pubBB, 'summary', '--view')).toContain(bbCommit);
    expect(ostree(pubBB, 'fsck')).toMatch(/no errors found/);
  });

  for (const mode of ['bare-user', 'bare', 'archive']) {
    it(`pulls a busybox root into a ${mode} repo, which both fscks accept and which checks out identically`, () => {
      const local = fresh(mode);
      htOk(['--repo', local, 'remote', 'add', 'origin', nginx.url('pub-busybox')]);
      const out = htOk(['--repo', local, 'pull', 'origin', 'os']);
      expect(out).toContain(`origin:os ${bbCommit}`);
      expect(htOk(['--repo', local, 'rev-parse', 'origin:os']).trim()).toBe(bbCommit);
      expect(fs.existsSync(join(local, 'state', `${bbCommit}.commitpartial`))).toBe(false);
      expectFsckOk(local);
      expect(ostree(local, 'fsck')).toMatch(/no errors found/);
      const co = join(s.dir, `co-${n}`);
      htOk(['--repo', local, 'checkout', 'origin:os', co]);
      expect(describeTree(co)).toEqual(describeTree(bbRoot));
    });
  }

  it('pulls a generated tree of 3,000 files; ostree lists it as the publisher has it', () => {
    const local = fresh();
    htOk(['--repo', local, 'remote', 'add', 'origin', nginx.url('pub-gen')]);
    nginx.clearLog();
    htOk(['--repo', local, 'pull', 'origin']); // no branch: all branches of the summary
    expect(htOk(['--repo', local, 'rev-parse', 'origin:gen']).trim()).toBe(genCommit);
    expect(ostree(local, 'ls', '-R', '-C', '-X', 'origin:gen')).toBe(ostree(pubGen, 'ls', '-R', '-C', '-X', 'gen'));
    expectFsckOk(local);
    // Each content object fetched exactly once, over a few kept-alive connections.
    const uris = filezUris(nginx);
    expect(new Set(uris).size).toBe(uris.length);
    expect(uris.length).toBe(contentObjects(pubGen).size);
    // Nothing here to rebuild from: the content map is not even fetched.
    expect(nginx.log().some((e) => e.uri.includes('content-maps'))).toBe(false);
  });

  it('with fetch worker threads, the 3,000-file tree pulls the same and both fscks pass', () => {
    // Two workers whatever the cores, beside the main thread's share.
    const local = fresh();
    htOk(['--repo', local, 'remote', 'add', 'origin', nginx.url('pub-gen')]);
    nginx.clearLog();
    htOk(['--repo', local, 'pull', 'origin', 'gen'], { env: { ...process.env, HACKTREE_PULL_WORKERS: '2' } });
    expect(htOk(['--repo', local, 'rev-parse', 'origin:gen']).trim()).toBe(genCommit);
    expect(ostree(local, 'ls', '-R', '-C', '-X', 'origin:gen')).toBe(ostree(pubGen, 'ls', '-R', '-C', '-X', 'gen'));
    expectFsckOk(local);
    expect(ostree(local, 'fsck')).toMatch(/no errors found/);
    const uris = filezUris(nginx);
    expect(new Set(uris).size).toBe(uris.length);
    expect(uris.length).toBe(contentObjects(pubGen).size);
  });

  it('ostree pulls what hacktree publishes, and its fsck passes', () => {
    const o = join(s.dir, 'ostree-client');
    ostree(o, 'init', '--mode=bare-user');
    ostree(o, 'remote', 'add', '--no-gpg-verify', 'origin', nginx.url('pub-busybox'));
    ostree(o, 'pull', 'origin', 'os');
    expect(ostree(o, 'rev-parse', 'origin:os').trim()).toBe(bbCommit);
    expect(ostree(o, 'fsck')).toMatch(/no errors found/);
    expect(ostree(o, 'ls', '-R', '-C', '-X', 'origin:os')).toBe(ostree(pubBB, 'ls', '-R', '-C', '-X', 'os'));
  });

  it('hacktree pulls what ostree publishes (no content map: the normal way); both fscks pass', () => {
    const local = fresh();
    // Some content indexed first: into an empty repository a pull does not ask for a content map at all.
    htOk(['--repo', local, 'remote', 'add', 'gen', nginx.url('pub-gen')]);
    htOk(['--repo', local, 'pull', 'gen', 'gen']);
    htOk(['--repo', local, 'remote', 'add', 'upstream', nginx.url('pub-ostree')]);
    nginx.clearLog();
    htOk(['--repo', local, 'pull', 'upstream', 'os']);
    expect(htOk(['--repo', local, 'rev-parse', 'upstream:os']).trim()).toBe(ostree(pubOstree, 'rev-parse', 'os').trim());
    expect(nginx.log().some((e) => e.uri.includes('content-maps') && e.status === 404)).toBe(true);
    expectFsckOk(local);
    expect(ostree(local, 'fsck')).toMatch(/no errors found/);
    expect(ostree(local, 'ls', '-R', '-C', '-X', 'upstream:os')).toBe(ostree(pubOstree, 'ls', '-R', '-C', '-X', 'os'));
  });

  it('pull-local copies branches between repositories, verifying them', () => {
    const local = fresh('archive');
    htOk(['--repo', local, 'pull-local', pubGen, 'gen']);
    expect(htOk(['--repo', local, 'rev-parse', 'gen']).trim()).toBe(genCommit);
    expectFsckOk(local);
    expect(ostree(local, 'fsck')).toMatch(/no errors found/);
  });

  it('a pull killed midway resumes: the next pull fetches only what is missing', async () => {
    const local = fresh();
    htOk(['--repo', local, 'remote', 'add', 'slow', nginx.url('pub-gen', true)]);
    nginx.clearLog();
    const child = spawn(HACKTREE, ['--repo', local, 'pull', 'slow', 'gen'], { stdio: 'ignore' });
    // Wait until some batches of objects have been moved into the repo, then kill -9.
    const deadline = Date.now() + 60_000;
    while (contentObjects(local).size < 300) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`pull ended or stalled before the kill (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    const before = contentObjects(local);
    const total = contentObjects(pubGen);
    expect(before.size).toBeLessThan(total.size);
    expect(refsOf(local)).toEqual([]);
    expect(fs.existsSync(join(local, 'state', `${genCommit}.commitpartial`))).toBe(true);
    expectFsckOk(local);

    htOk(['--repo', local, 'remote', 'delete', 'slow']);
    htOk(['--repo', local, 'remote', 'add', 'fast', nginx.url('pub-gen')]);
    nginx.clearLog();
    htOk(['--repo', local, 'pull', 'fast', 'gen']);
    const fetched = filezUris(nginx).map(objOfUri);
    expect(fetched.filter((o) => before.has(o))).toEqual([]);
    expect(fetched.length).toBe(total.size - before.size);
    expect(htOk(['--repo', local, 'rev-parse', 'fast:gen']).trim()).toBe(genCommit);
    expect(fs.existsSync(join(local, 'state', `${genCommit}.commitpartial`))).toBe(false);
    expectFsckOk(local);
    expect(ostree(local, 'fsck')).toMatch(/no errors found/);
  });

  it('after chmod -R g+w usr and a new commit, the re-pull downloads no content objects', () => {
    const local = fresh();
    htOk(['--repo', local, 'remote', 'add', 'origin', nginx.url('pub-gen')]);
    htOk(['--repo', local, 'pull', 'origin', 'gen']);
    const changed = join(s.dir, 'generated-chmod');
    sh('cp', ['-a', genRoot, changed]);
    sh('chmod', ['-R', 'g+w', join(changed, 'usr')]);
    const second = htOk(['--repo', pubGen, 'commit', '-b', 'gen', '-s', 'g+w', changed]).trim();
    htOk(['--repo', pubGen, 'summary', '-u']);
    nginx.clearLog();
    const out = htOk(['--repo', local, 'pull', 'origin', 'gen']);
    expect(filezUris(nginx)).toEqual([]);
    expect(out).toMatch(/[1-9]\d* rebuilt from local content/);
    expect(htOk(['--repo', local, 'rev-parse', 'origin:gen']).trim()).toBe(second);
    expectFsckOk(local);
    expect(ostree(local, 'fsck')).toMatch(/no errors found/);
    const co = join(s.dir, 'co-chmod');
    htOk(['--repo', local, 'checkout', 'origin:gen', co]);
    expect(describeTree(co)).toEqual(describeTree(changed));
    // Put the publisher back where the other tests expect it.
    htOk(['--repo', pubGen, 'commit', '-b', 'gen', '-s', 'back', genRoot]);
    htOk(['--repo', pubGen, 'summary', '-u']);
    genCommit = htOk(['--repo', pubGen, 'rev-parse', 'gen']).trim();
  });

  it('a missing branch, a missing remote and an unreachable server are one clear line', async () => {
    const local = fresh();
    htOk(['--repo', local, 'remote', 'add', 'origin', nginx.url('pub-busybox')]);
    expectOneLineError(ht(['--repo', local, 'pull', 'origin', 'nope']), /remote 'origin' has no branch 'nope'/);
    expectOneLineError(ht(['--repo', local, 'pull', 'nosuch', 'os']), /no remote 'nosuch'/);
    htOk(['--repo', local, 'remote', 'add', 'dead', `http://127.0.0.1:${await freePort()}/`]);
    expectOneLineError(ht(['--repo', local, 'pull', 'dead', 'os']), /failed after 5 attempts: connection refused/);
    htOk(['--repo', local, 'remote', 'add', 'notrepo', nginx.url('nothing-here')]);
    expectOneLineError(ht(['--repo', local, 'pull', 'notrepo', 'os']), /no OSTree repository at/);
    expect(refsOf(local)).toEqual([]);
  });

  it('remote add/list/delete write the config as ostree does', () => {
    const local = fresh();
    htOk(['--repo', local, 'remote', 'add', 'origin', 'http://example.invalid/repo']);
    expect(fs.readFileSync(join(local, 'config'), 'utf8')).toContain('[remote "origin"]\nurl=http://example.invalid/repo\ngpg-verify=false\n');
    expect(ostree(local, 'remote', 'list', '-u')).toMatch(/origin\s+http:\/\/example.invalid\/repo/);
    expect(htOk(['--repo', local, 'remote', 'list'])).toMatch(/^NAME +URL +SIGNATURES\norigin +http:\/\/example.invalid\/repo +-$/m);
    expectOneLineError(ht(['--repo', local, 'remote', 'add', 'origin', 'http://x/']), /already exists/);
    htOk(['--repo', local, 'remote', 'delete', 'origin']);
    expect(htOk(['--repo', local, 'remote', 'list'])).toBe('');
  });

  describe('a hostile server', () => {
    let server: http.Server;
    let base = '';
    /** path → handler; anything else is served from pub-busybox as a static server would. */
    const rules = new Map<string, (res: http.ServerResponse) => void>();
    const seen = new Map<string, number>();
    const bbObjects = () => [...contentObjects(pubBB)];
    const filezPath = (o: string) => `objects/${o.slice(0, 2)}/${o.slice(2)}.filez`;
    // The largest object (busybox itself): big enough to cut in half.
    const biggest = () => bbObjects().sort((a, b) => fs.statSync(join(pubBB, filezPath(b))).size - fs.statSync(join(pubBB, filezPath(a))).size)[0]!;

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const path = decodeURIComponent((req.url ?? '/').slice(1));
        seen.set(path, (seen.get(path) ?? 0) + 1);
        const rule = rules.get(path);
        if (rule) { rule(res); return; }
        const file = join(pubBB, path);
        if (!path.includes('..') && fs.existsSync(file) && fs.statSync(file).isFile()) {
          const data = fs.readFileSync(file);
          res.writeHead(200, { 'content-length': data.length });
          res.end(data);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      const port = await freePort();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      base = `http://127.0.0.1:${port}/`;
    });
    afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

    /** Pulls from the hostile server (async: the server runs in this process), expects one clear error line, untouched refs and a consistent repo. */
    async function refused(pattern: RegExp, env?: NodeJS.ProcessEnv): Promise<void> {
      const local = fresh();
      htOk(['--repo', local, 'remote', 'add', 'evil', base]);
      const r = await htAsync(['--repo', local, 'pull', 'evil', 'os'], env);
      expectOneLineError(r, pattern);
      expect(refsOf(local)).toEqual([]);
      expectFsckOk(local);
      expect(fs.readdirSync(join(local, 'tmp')).filter((x) => x.startsWith('staging-'))).toEqual([]);
    }

    it('a wrong object (another object\'s bytes) is refused', async () => {
      const [a, b] = [biggest(), bbObjects().find((o) => o !== biggest())!];
      rules.clear();
      rules.set(filezPath(a), (res) => { const d = fs.readFileSync(join(pubBB, filezPath(b))); res.writeHead(200, { 'content-length': d.length }); res.end(d); });
      await refused(new RegExp(`corrupt file object ${a}: remote 'evil' sent an object with checksum ${'[0-9a-f]{64}'}`));
    });

    it('a wrong object and a truncated one are refused as well when fetch worker threads handle them', async () => {
      const [a, b] = [biggest(), bbObjects().find((o) => o !== biggest())!];
      const workers = { HACKTREE_PULL_WORKERS: '2', HACKTREE_PULL_ON_MAIN: '0' }; // every object through a worker
      rules.clear();
      rules.set(filezPath(a), (res) => { const d = fs.readFileSync(join(pubBB, filezPath(b))); res.writeHead(200, { 'content-length': d.length }); res.end(d); });
      await refused(new RegExp(`corrupt file object ${a}: remote 'evil' sent an object with checksum ${'[0-9a-f]{64}'}`), workers);
      rules.clear();
      rules.set(filezPath(a), (res) => {
        const d = fs.readFileSync(join(pubBB, filezPath(a)));
        res.writeHead(200, { 'content-length': d.length >> 1 });
        res.end(d.subarray(0, d.length >> 1));
      });
      await refused(/malformed object: file object [0-9a-f]{64} from remote 'evil': bad deflate stream|truncated/, workers);
    });

    it('a truncated object is refused', async () => {
      rules.clear();
      rules.set(filezPath(biggest()), (res) => {
        const d = fs.readFileSync(join(pubBB, filezPath(biggest())));
        const half = d.subarray(0, d.length >> 1);
        res.writeHead(200, { 'content-length': half.length });
        res.end(half);
      });
      await refused(/malformed object: file object [0-9a-f]{64} from remote 'evil': bad deflate stream|truncated/);
    });

    it('a connection cut midway is retried, then refused', async () => {
      rules.clear();
      const p = filezPath(biggest());
      seen.delete(p);
      rules.set(p, (res) => {
        const d = fs.readFileSync(join(pubBB, p));
        res.writeHead(200, { 'content-length': d.length });
        res.write(d.subarray(0, d.length >> 1), () => res.destroy());
      });
      await refused(/failed after 5 attempts: connection closed before the whole response arrived/);
      expect(seen.get(p)).toBe(5);
    });

    it('an endless object is cut off and refused', async () => {
      rules.clear();
      const p = filezPath(biggest());
      rules.set(p, (res) => {
        const header = fs.readFileSync(join(pubBB, p)).subarray(0, 64);
        res.writeHead(200); // chunked, no length: it never ends
        res.write(header);
        const chunk = randomBytes(1 << 16);
        const pump = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump); };
        res.on('close', () => {});
        pump();
      });
      await refused(/response is longer than the \d+ bytes it may have; stopped reading/);
    });

    for (const bad of ['..', '.', 'a/b', '']) {
      it(`a dirtree with an entry named ${JSON.stringify(bad)} is refused`, async () => {
        // A self-consistent commit whose root tree holds the bad name: only the name check stops it.
        const good = parseCommit(fs.readFileSync(join(pubBB, `objects/${bbCommit.slice(0, 2)}/${bbCommit.slice(2)}.commit`)));
        const tree = serializeDirTree({ files: [{ name: bad, checksum: bbObjects()[0]! }], dirs: [] });
        const commit = serializeCommit({ ...good, parent: null, rootTree: sha256Hex(tree) });
        const c = sha256Hex(commit);
        const t = sha256Hex(tree);
        const serve = (d: Buffer | string) => (res: http.ServerResponse) => { res.writeHead(200, { 'content-length': Buffer.byteLength(d) }); res.end(d); };
        rules.clear();
        rules.set('refs/heads/os', serve(c + '\n'));
        rules.set(`objects/${c.slice(0, 2)}/${c.slice(2)}.commit`, serve(commit));
        rules.set(`objects/${t.slice(0, 2)}/${t.slice(2)}.dirtree`, serve(tree));
        await refused(/refusing tree entry .* names must be valid UTF-8, not '\.', '\.\.', empty, or contain '\/'/);
      });
    }

    it('5xx answers are retried and the pull completes', async () => {
      rules.clear();
      const failedOnce = new Set<string>();
      const p = filezPath(biggest());
      for (const path of ['refs/heads/os', p]) {
        rules.set(path, (res) => {
          if (!failedOnce.has(path)) { failedOnce.add(path); res.writeHead(503); res.end(); return; }
          const d = fs.readFileSync(join(pubBB, path));
          res.writeHead(200, { 'content-length': d.length });
          res.end(d);
        });
      }
      const local = fresh();
      htOk(['--repo', local, 'remote', 'add', 'evil', base]);
      const r = await htAsync(['--repo', local, 'pull', 'evil', 'os']);
      expect(r.code, r.stderr).toBe(0);
      expect(refsOf(local)).toEqual(['evil:os']);
      expectFsckOk(local);
    });
  });

  describe('signatures', () => {
    const keys = () => {
      const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
      const seed = Buffer.from(jwk.d!, 'base64url'), pub = Buffer.from(jwk.x!, 'base64url');
      return { secret: Buffer.concat([seed, pub]).toString('base64'), pub: pub.toString('base64') };
    };
    const good = keys(), other = keys();
    const pubSigned = join(s.dir, 'www', 'pub-signed');
    const secretFile = join(s.dir, 'secret.ed25519'), otherFile = join(s.dir, 'other.ed25519'), pubFile = join(s.dir, 'trusted.ed25519');

    beforeAll(() => {
      fs.writeFileSync(secretFile, good.secret + '\n');
      fs.writeFileSync(otherFile, other.secret + '\n');
      fs.writeFileSync(pubFile, good.pub + '\n');
      htOk(['--repo', pubSigned, 'init', '--mode', 'archive']);
      htOk(['--repo', pubSigned, 'commit', '-b', 'os', bbRoot]);
      expect(htOk(['--repo', pubSigned, 'sign', 'os', '--keyfile', secretFile])).toMatch(/1 signature\(s\) added/);
      htOk(['--repo', pubSigned, 'summary', '-u']);
    });

    it('sign writes ostree.sign.ed25519 into the detached metadata; fsck and ostree fsck accept it', () => {
      const c = htOk(['--repo', pubSigned, 'rev-parse', 'os']).trim();
      expect(fs.existsSync(join(pubSigned, 'objects', c.slice(0, 2), `${c.slice(2)}.commitmeta`))).toBe(true);
      // An array of one 64-byte signature. GLib prints a byte array as b'...' when its only
      // NUL is its last byte (about 1 signature in 400), else as [byte 0x..]: both are it.
      expect(ostree(pubSigned, 'show', '--print-detached-metadata-key=ostree.sign.ed25519', 'os')).toMatch(/^\[(\[byte 0x|b')/);
      expectFsckOk(pubSigned);
      expect(ostree(pubSigned, 'fsck')).toMatch(/no errors found/);
    });

    it('a verifying remote pulls a signed commit and refuses unsigned or wrongly signed ones', () => {
      const local = fresh();
      htOk(['--repo', local, 'remote', 'add', 'signed', nginx.url('pub-signed'), '--sign-verify', `ed25519=inline:${good.pub}`]);
      htOk(['--repo', local, 'remote', 'add', 'byfile', nginx.url('pub-signed'), '--sign-verify', `ed25519=file:${pubFile}`]);
      expect(fs.readFileSync(join(local, 'config'), 'utf8')).toContain(`sign-verify=true\nverification-ed25519-key=${good.pub}\n`);
      htOk(['--repo', local, 'pull', 'signed', 'os']);
      htOk(['--repo', local, 'pull', 'byfile', 'os']);
      const signedCommit = htOk(['--repo', local, 'rev-parse', 'signed:os']).trim();
      expectFsckOk(local);

      // A new commit without a signature.
      htOk(['--repo', pubSigned, 'commit', '-b', 'os', '-s', 'unsigned', genRoot]);
      htOk(['--repo', pubSigned, 'summary', '-u']);
      expectOneLineError(ht(['--repo', local, 'pull', 'signed', 'os']), /is not signed, and the remote requires ed25519 signatures/);
      expect(htOk(['--repo', local, 'rev-parse', 'signed:os']).trim()).toBe(signedCommit);

      // Signed, but by a key the remote does not trust.
      htOk(['--repo', pubSigned, 'sign', 'os', '--keyfile', otherFile]);
      expectOneLineError(ht(['--repo', local, 'pull', 'signed', 'os']), /no signature verifies with the remote's trusted key/);
      expect(htOk(['--repo', local, 'rev-parse', 'signed:os']).trim()).toBe(signedCommit);
      expectFsckOk(local);

      // Once signed by the trusted key too, it pulls.
      htOk(['--repo', pubSigned, 'sign', 'os', '--keyfile', secretFile]);
      htOk(['--repo', local, 'pull', 'signed', 'os']);
      expect(htOk(['--repo', local, 'rev-parse', 'signed:os']).trim()).toBe(htOk(['--repo', pubSigned, 'rev-parse', 'os']).trim());
      expectFsckOk(local);
    });

    it('a bad key file is one clear line', () => {
      const bad = join(s.dir, 'bad.key');
      fs.writeFileSync(bad, 'bm90IGEga2V5\n');
      expectOneLineError(ht(['--repo', pubSigned, 'sign', 'os', '--keyfile', bad]), /not a base64 ed25519 secret key/, 2);
    });
  });
});
