// Group `lazy`: mounting a remote commit without pulling it. nginx serves an archive repository of
// the test root (hacktree commit + summary -u) through a relay that delays every chunk by 10 ms
// each way: a 20 ms round trip. (The issue asks for tc netem in a network namespace; this kernel
// has no sch_netem, so the delay is made in user space, by bench/delay-relay.ts in a process of
// its own.) Each run uses fresh local repositories, so nothing is here before it is measured.
// Peers, in the same run over the same link: a full `pull` and then the same work on a local mount.
// The times of the first `ls` and of the starts end when the work does, before the unmount (which
// is no part of what their targets time: 0.4–0.6 s of a `hacktree umount` here); a tar's include it
// (under 2% of them).
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import { Samples } from './group.js';
import { minbaseRoot } from './fixtures.js';
import { mountHacktree, withMount } from './mounts.js';
import { tempDir } from './paths.js';
import { dropCaches, hacktree, have, must, q, sh } from './run.js';
import { startNginx } from './nginx.js';
import { startDelayRelay } from './relay.js';

const DELAY_MS = 10;
/** HACKTREE_BENCH_LAZY=first,start,list,tar (default all) picks the parts to run. */
const part = (name: string): boolean => (process.env.HACKTREE_BENCH_LAZY ?? 'first,start,list,tar').split(',').includes(name);
const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200)); // nginx logs a request as it finishes

/** What a developer's first minute in a root reads. */
const START = 'cat /etc/os-release; ls /usr/bin; bash -c true'; // output to the benchmark: a chroot has no /dev/null

function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return n;
}

/** tar of every byte, piped so that GNU tar reads the files (see mount.ts). */
const tar = (dir: string) => sh(`tar --hard-dereference -cf - -C ${q(dir)} . | wc -c`);

export const group: Group = {
  name: 'lazy',
  async run(ctx: Context) {
    if (!have('nginx')) throw new Error('nginx missing (apt-get install nginx-light)');
    const root = await minbaseRoot(ctx.log);
    const tmp = tempDir('lazy');
    try {
      const www = join(tmp.path, 'www');
      const pub = join(www, 'pub');
      ctx.log('publishing the test root into an archive repo (commit + summary -u)...');
      await hacktree(['--repo', pub, 'init', '--mode', 'archive']);
      await hacktree(['--repo', pub, '--fsync=false', 'commit', '-b', 'os', root]);
      await hacktree(['--repo', pub, 'summary', '-u']);
      const published = bytesUnder(join(pub, 'objects'));
      const server = await startNginx(www, join(tmp.path, 'nginx'));
      const relay = await startDelayRelay(server.port, DELAY_MS);
      const url = `http://127.0.0.1:${relay.port}/pub`;
      ctx.log(`  ${(published / 1e6).toFixed(1)} MB of objects, served through a ${2 * DELAY_MS} ms round trip`);
      let n = 0;
      const fresh = async (): Promise<string> => {
        const repo = join(tmp.path, `r${++n}`);
        await hacktree(['--repo', repo, 'init']);
        await hacktree(['--repo', repo, 'remote', 'add', 'origin', url]);
        return repo;
      };
      const dir = (): string => { const d = join(tmp.path, `m${++n}`); mkdirSync(d); return d; };
      const s = new Samples();
      try {
        for (let i = 0; i < ctx.runs; i++) {
          // 1. From nothing to the first listing of /usr/bin.
          let t0: bigint;
          if (part('first')) {
            const lazy = await fresh(), pulled = await fresh();
            t0 = process.hrtime.bigint();
            s.add('first-ls', await withMount(mountHacktree(lazy, 'origin:os', dir()), async (m) => { await must('ls', [join(m.dir, 'usr/bin')]); return since(t0); }));
            t0 = process.hrtime.bigint();
            await hacktree(['--repo', pulled, 'pull', 'origin', 'os']);
            s.add('pull-first-ls', await withMount(mountHacktree(pulled, 'origin:os', dir()), async (m) => { await must('ls', [join(m.dir, 'usr/bin')]); return since(t0); }));
          }

          // 2. A first minute in the root: what it fetches, against the whole root.
          if (part('start')) {
            const lazy = await fresh();
            server.clearLog();
            await withMount(mountHacktree(lazy, 'origin:os', dir()), async (m) => { await must('chroot', [m.dir, '/bin/sh', '-c', START]); });
            await settle();
            s.add('start-MB', server.log().reduce((a, e) => a + e.bytes, 0) / 1e6);
            s.add('root-MB', published / 1e6);
          }

          // 3. Every byte: a cold tar of the lazy mount, against pull + a cold tar of a local mount.
          if (part('tar')) {
            const lazy = await fresh(), full = await fresh();
            dropCaches();
            t0 = process.hrtime.bigint();
            await withMount(mountHacktree(lazy, 'origin:os', dir()), (m) => tar(m.dir));
            s.add('tar', since(t0));
            t0 = process.hrtime.bigint();
            await hacktree(['--repo', full, 'pull', 'origin', 'os']);
            dropCaches();
            await withMount(mountHacktree(full, 'origin:os', dir()), (m) => tar(m.dir));
            s.add('pull-tar', since(t0));
          }
          // 4. A second machine's start with the prefetch list the first one recorded, published with
          // its pack (prefetch-publish), against one without; and with the list alone (a request per object).
          if (part('list')) {
            const listed = join(pub, 'hacktree', 'prefetch');
            rmSync(listed, { recursive: true, force: true });
            const without = await fresh();
            const start = async (repo: string): Promise<number> => {
              const t = process.hrtime.bigint();
              return withMount(mountHacktree(repo, 'origin:os', dir()), async (m) => { await must('chroot', [m.dir, '/bin/sh', '-c', START]); return since(t); });
            };
            s.add('start-no-list', await start(without));
            const recorded = join(without, 'hacktree', 'prefetch');
            await hacktree(['--repo', pub, 'prefetch-publish', join(recorded, readdirSync(recorded).find((f) => f.endsWith('.list'))!)]);
            s.add('start-list', await start(await fresh()));
            for (const f of readdirSync(listed)) if (f.endsWith('.pack')) rmSync(join(listed, f));
            s.add('start-list-only', await start(await fresh()));
            rmSync(listed, { recursive: true, force: true });
          }

          ctx.log(`  run ${i + 1}: first ls ${s.get('first-ls').at(-1)?.toFixed(2)} s, start fetched ${s.get('start-MB').at(-1)?.toFixed(1)} MB, tar ${s.get('tar').at(-1)?.toFixed(1)} s (pull + tar ${s.get('pull-tar').at(-1)?.toFixed(1)} s)`);
        }
      } finally {
        relay.child.kill('SIGKILL');
        await server.stop();
      }
      ctx.report({
        group: 'lazy', name: 'first-ls', unit: 's', ratio: 'hacktree/peer', target: { on: 'hacktree', cmp: '<=', value: 1.0 },
        what: `lazy mount origin:os (never pulled) + first ls /usr/bin, ${2 * DELAY_MS} ms RTT; peer: pull + mount + ls`,
        hacktree: s.get('first-ls'), peer: { name: 'pull first', values: s.get('pull-first-ls') },
      });
      ctx.report({
        group: 'lazy', name: 'start-bytes', unit: 'MB', ratio: 'hacktree/peer', target: { on: 'ratio', cmp: '<=', value: 0.05 },
        what: `bytes fetched by a lazy mount + chroot '${START}', against the root's published objects`,
        hacktree: s.get('start-MB'), peer: { name: 'whole root', values: s.get('root-MB') },
      });
      ctx.report({
        group: 'lazy', name: 'start-with-list', unit: 's', ratio: 'hacktree/peer', target: { on: 'ratio', cmp: '<=', value: 0.5 },
        what: `a second machine's lazy mount + chroot '${START}' with the prefetch list the first one recorded (published with its pack: prefetch-publish); peer: the same without a list`,
        hacktree: s.get('start-list'), peer: { name: 'no list', values: s.get('start-no-list') },
      });
      ctx.report({
        group: 'lazy', name: 'start-list-only', unit: 's', ratio: 'hacktree/peer', target: null,
        what: `the same start with the list published alone (no pack: a request per object); peer: without a list`,
        hacktree: s.get('start-list-only'), peer: { name: 'no list', values: s.get('start-no-list') },
      });
      ctx.report({
        group: 'lazy', name: 'cold-tar', unit: 's', ratio: 'hacktree/peer', target: { on: 'ratio', cmp: '<=', value: 1.2 },
        what: `lazy mount + cold tar c of every byte, ${2 * DELAY_MS} ms RTT; peer: full pull + mount + cold tar`,
        hacktree: s.get('tar'), peer: { name: 'pull + tar', values: s.get('pull-tar') },
      });
    } finally {
      tmp.remove();
    }
  },
};
