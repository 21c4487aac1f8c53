import { Option, type Command } from 'commander';
import { mountCommandRequest, mountInBackground, type DaemonOptions } from '../../mount.js';
import { resolveRev } from '../../store/rev.js';
import type { Checksum } from '../../store/checksum.js';
import { remoteBranchOf } from '../../store/remote/remote-branch.js';
import { isPartial } from '../../store/layout.js';
import { globals, openRepo, parseSeconds, repoPath } from '../context.js';
import { out } from '../output.js';
import { UsageError } from '../../errors.js';
import { makeEphemeralLayer, newThrowawayDir } from '../../overlay/ephemeral-layer.js';
import fs from 'node:fs';
import { resolve } from 'node:path';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program.command('mount')
    .description('mount a commit read-only at MOUNTPOINT, served straight from the store')
    .argument('<rev>')
    .argument('<mountpoint>')
    .option('-f, --foreground', 'stay in the foreground and log each error')
    .option('-o, --options <opts>', 'mount options: verify=all|none, nonempty, nopassthrough (a root: its files read and written through the daemon), or FUSE options (repeatable)', collect, [])
    .option('--ephemeral', 'writable, over a throwaway layer where every path takes writes (/usr, /etc too); the layer is gone when the mount ends')
    .option('--keep-layer <dir>', 'with --ephemeral: make the throwaway layer at DIR and keep it (see `layer diff DIR`, `layer commit DIR`)')
    .option('--fetch-timeout <seconds>', 'a lazy mount: how long a read waits for an object from the remote before it fails with EIO', '10')
    .addOption(new Option('--ready-fd <fd>', 'report readiness on this fd (used when daemonizing)').hideHelp())
    // The rest of a daemon's request (see daemonArgv in src/mount.ts).
    .addOption(new Option('--label <rev>').hideHelp())
    .addOption(new Option('--layer <dir>').hideHelp())
    .addOption(new Option('--layer-root <name>').hideHelp())
    .addOption(new Option('--layer-sysroot <path>').hideHelp())
    .addOption(new Option('--layer-discard').hideHelp())
    .addOption(new Option('--lazy-remote <name>', 'fetch missing objects from this remote (set by mount itself)').hideHelp())
    .action(async (rev: string, mountpoint: string, o: DaemonOptions & { foreground?: boolean; options: string[]; readyFd?: string; fetchTimeout: string; ephemeral?: boolean; keepLayer?: string }, cmd: Command) => {
      if (o.keepLayer !== undefined && !o.ephemeral) throw new UsageError('--keep-layer goes with --ephemeral');
      if (o.ephemeral && o.layer !== undefined) throw new UsageError('--ephemeral makes its own layer: it does not go with --layer');
      const timeoutMs = parseSeconds(o.fetchTimeout, '--fetch-timeout');
      const repo = openRepo(cmd);
      let commit: Checksum;
      let lazyRemote = o.lazyRemote;
      try {
        // Resolved here, once: the daemon gets the checksum (and is given no REMOTE:BRANCH to look up).
        // REMOTE:BRANCH of a configured remote mounts lazily: its commit is fetched now unless the
        // remote-tracking ref names one here, the rest as reads need it while the commit is partial.
        const rb = o.readyFd === undefined ? remoteBranchOf(repo, rev) : null;
        commit = rb ? await (await import('../../store/remote/lazy-commit.js')).lazyCommit(repo, rb.remote, rb.branch) : resolveRev(repo, rev);
        if (rb && isPartial(repo.path, commit)) lazyRemote = rb.remote;
      } finally {
        repo.close();
      }
      const req = mountCommandRequest(repoPath(globals(cmd)), commit, rev, mountpoint, o.options, { ...o, lazyRemote, fetchTimeoutMs: timeoutMs });
      if (o.ephemeral) req.layer = { dir: o.keepLayer !== undefined ? resolve(o.keepLayer) : newThrowawayDir(), root: '', sysroot: '', discard: o.keepLayer === undefined };
      let r;
      try {
        if (o.ephemeral) await makeEphemeralLayer(req.layer!.dir, { commit, rev });
        const readyFd = o.readyFd !== undefined ? Number(o.readyFd) : null;
        if (o.foreground) await (await import('../../mount-daemon.js')).serveInForeground(req, readyFd);
        r = await mountInBackground(req);
      } catch (e) {
        // A throwaway layer the mount never got; a kept one stays for the user to look at.
        if (req.layer?.discard) fs.rmSync(req.layer.dir, { recursive: true, force: true });
        throw e;
      }
      const layerNote = !o.ephemeral ? '' : req.layer?.discard ? ` over a throwaway layer (${req.layer.dir})` : ` over the layer kept at ${req.layer?.dir}`;
      out(`mounted ${r.commit} at ${r.mnt}${layerNote}`);
    });
}
