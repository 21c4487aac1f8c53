import type { Command } from 'commander';
import os from 'node:os';
import { enterRoot } from '../../roots/enter.js';
import { holdRootMount } from '../../roots/root-mount.js';
import { globals, repoPath } from '../context.js';
import { rootsOf } from './root.js';

export function register(program: Command): void {
  program.command('enter')
    .description("run CMD (default: the root's /bin/sh) in new mount and PID namespaces inside a root")
    .argument('<name>')
    .argument('[cmd...]', 'command and arguments (after --)')
    .option('--bind-home', "bind your $HOME at the same path inside")
    .action(async (name: string, cmd: string[], o: { bindHome?: boolean }, command: Command) => {
      const roots = rootsOf(command);
      roots.get(name);
      const held = await holdRootMount(roots, repoPath(globals(command)), name);
      let code: number;
      try {
        code = (await enterRoot({ mountpoint: held.mountpoint, cmd: cmd.length ? cmd : ['/bin/sh'], bindHome: o.bindHome ? process.env.HOME ?? os.homedir() : undefined })).code;
      } finally {
        await held.release();
      }
      process.exitCode = code;
    });
}
