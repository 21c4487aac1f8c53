import type { Command } from 'commander';
import os from 'node:os';
import { enterRoot } from '../../roots/enter.js';
import { holdEphemeralMount } from '../../roots/ephemeral.js';
import { holdRootMount, type HeldMount } from '../../roots/root-mount.js';
import { UsageError } from '../../errors.js';
import { globals, openRepo, repoPath } from '../context.js';
import { printUpgrade, rootsOf } from './root.js';
import { applyStaged } from '../../roots/lifecycle.js';

export function register(program: Command): void {
  program.command('enter')
    .description("run CMD (default: the root's /bin/sh) in new mount and PID namespaces inside a root")
    .argument('<name>', 'a root; with --ephemeral, a root or a revision')
    .argument('[cmd...]', 'command and arguments (after --)')
    .option('--bind-home', "bind your $HOME at the same path inside")
    .option('--ephemeral', "over a throwaway layer where every path takes writes (/usr, /etc too), gone when CMD ends; the root's own layer is only read")
    .option('--keep-layer <dir>', 'with --ephemeral: make the throwaway layer at DIR and keep it (see `layer diff DIR`, `layer commit DIR`)')
    .action(async (name: string, cmd: string[], o: { bindHome?: boolean; ephemeral?: boolean; keepLayer?: string }, command: Command) => {
      if (o.keepLayer !== undefined && !o.ephemeral) throw new UsageError('--keep-layer goes with --ephemeral');
      const roots = rootsOf(command);
      const repo = repoPath(globals(command));
      let held: HeldMount;
      if (o.ephemeral) {
        held = await holdEphemeralMount(roots, repo, name, o.keepLayer);
      } else {
        roots.get(name);
        // An upgrade staged while the root was mounted happens before it is mounted again.
        const up = await applyStaged(openRepo(command), roots, name, repo);
        if (up) printUpgrade(name, up);
        held = await holdRootMount(roots, repo, name);
      }
      let code: number;
      try {
        code = (await enterRoot({ mountpoint: held.mountpoint, cmd: cmd.length ? cmd : ['/bin/sh'], bindHome: o.bindHome ? process.env.HOME ?? os.homedir() : undefined })).code;
      } finally {
        await held.release();
      }
      process.exitCode = code;
    });
}
