// Group `pull`: pulling the test root over HTTP from nginx on loopback into a fresh bare-user
// repo, hacktree against ostree, same published archive repo, same run. Then the case ostree
// cannot help: after `chmod -R g+w usr` in a copy of the tree and a new commit, the re-pull into
// the repos that hold the first commit. Bytes on the wire are counted by nginx
// ($body_bytes_sent); time is the client's wall time. The publisher's repo is made by hacktree
// (commit into archive + summary -u, which also writes the content maps).
import { join } from 'node:path';
import type { Context, Group } from './group.js';
import type { Metric } from './metrics.js';
import { Samples } from './group.js';
import { minbaseRoot } from './fixtures.js';
import { tempDir } from './paths.js';
import { hacktree, have, must, syncDisks } from './run.js';
import { startNginx, type Nginx } from './nginx.js';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200)); // nginx logs a request as it finishes

async function measured(server: Nginx, pull: () => Promise<{ seconds: number }>): Promise<{ seconds: number; bytes: number; filez: number }> {
  server.clearLog();
  syncDisks();
  const { seconds } = await pull();
  await settle();
  const log = server.log();
  return { seconds, bytes: log.reduce((a, e) => a + e.bytes, 0), filez: log.filter((e) => e.uri.endsWith('.filez')).length };
}

export const group: Group = {
  name: 'pull',
  async run(ctx: Context) {
    if (!have('ostree')) throw new Error('ostree missing (apt-get install ostree)');
    const root = await minbaseRoot(ctx.log);
    const tmp = tempDir('pull');
    try {
      const www = join(tmp.path, 'www');
      const pub = join(www, 'pub');
      const changed = join(tmp.path, 'changed');
      ctx.log('publishing: hacktree commit into an archive repo (os, and os-chmod after chmod -R g+w usr), summary -u...');
      await hacktree(['--repo', pub, 'init', '--mode', 'archive']);
      await hacktree(['--repo', pub, '--fsync=false', 'commit', '-b', 'os', root]);
      await must('cp', ['-a', root, changed]);
      await must('chmod', ['-R', 'g+w', join(changed, 'usr')]);
      await hacktree(['--repo', pub, '--fsync=false', 'commit', '-b', 'os-chmod', changed]);
      await hacktree(['--repo', pub, 'summary', '-u']);
      if (!have('nginx')) throw new Error('nginx missing (apt-get install nginx-light)');
      const server = await startNginx(www, join(tmp.path, 'nginx'));
      const url = server.url('pub');
      const s = new Samples();
      try {
        for (let i = 0; i < ctx.runs; i++) {
          const h = join(tmp.path, `h${i}`), o = join(tmp.path, `o${i}`);
          await hacktree(['--repo', h, 'init']);
          await hacktree(['--repo', h, 'remote', 'add', 'origin', url]);
          await must('ostree', [`--repo=${o}`, 'init', '--mode=bare-user']);
          await must('ostree', [`--repo=${o}`, 'remote', 'add', '--no-gpg-verify', 'origin', url]);
          const pulls: Array<[string, (b: string) => Promise<{ seconds: number }>]> = [
            ['hacktree', (b) => hacktree(['--repo', h, 'pull', 'origin', b])],
            ['ostree', (b) => must('ostree', [`--repo=${o}`, 'pull', 'origin', b])],
          ];
          // Alternate who goes first, so neither always gets the warmer page cache.
          const order = i % 2 === 0 ? pulls : [...pulls].reverse();
          for (const [who, pull] of order) {
            const r = await measured(server, () => pull('os'));
            s.add(`${who}-full-s`, r.seconds);
            s.add(`${who}-full-MB`, r.bytes / 1e6);
          }
          for (const [who, pull] of order) {
            const r = await measured(server, () => pull('os-chmod'));
            s.add(`${who}-chmod-s`, r.seconds);
            s.add(`${who}-chmod-bytes`, r.bytes);
            s.add(`${who}-chmod-filez`, r.filez);
          }
          const hc = (await hacktree(['--repo', h, 'rev-parse', 'origin:os-chmod'])).stdout.trim();
          const oc = (await must('ostree', [`--repo=${o}`, 'rev-parse', 'origin:os-chmod'])).stdout.trim();
          ctx.check({ name: `same-commit (run ${i + 1})`, ok: hc === oc, detail: `hacktree ${hc.slice(0, 12)}, ostree ${oc.slice(0, 12)}` });
          if (i === 0) {
            const f = await must('ostree', [`--repo=${h}`, 'fsck']);
            ctx.check({ name: 'ostree-fsck-of-hacktree-pull', ok: /no errors found/.test(f.stdout), detail: f.stdout.trim().split('\n').pop() ?? '' });
          }
          ctx.log(`  run ${i + 1}: re-pull .filez requests: hacktree ${s.get('hacktree-chmod-filez').at(-1)}, ostree ${s.get('ostree-chmod-filez').at(-1)}`);
        }
      } finally {
        await server.stop();
      }
      // Every pull metric is hacktree against ostree, read from the samples `hacktree-KEY` and `ostree-KEY`.
      const vsOstree = (name: string, unit: Metric['unit'], key: string, what: string, target: Metric['target']): void => ctx.report({
        group: 'pull', name, unit, what, ratio: 'hacktree/peer', target,
        hacktree: s.get(`hacktree-${key}`), peer: { name: 'ostree', values: s.get(`ostree-${key}`) },
      });
      vsOstree('full', 's', 'full-s', 'pull origin os (the test root) into a fresh bare-user repo from nginx on loopback (wall time)', { on: 'ratio', cmp: '<=', value: 1.0 });
      vsOstree('full-bytes', 'MB', 'full-MB', 'bytes served by nginx for that pull', null);
      vsOstree('chmod-bytes', 'bytes', 'chmod-bytes', 're-pull after chmod -R g+w usr + new commit: bytes served by nginx (hacktree rebuilds from local content)', { on: 'ratio', cmp: '<=', value: 0.02 });
      vsOstree('chmod-time', 's', 'chmod-s', 'that re-pull, wall time', null);
    } finally {
      tmp.remove();
    }
  },
};
