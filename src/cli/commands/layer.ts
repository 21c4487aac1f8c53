import type { Command } from 'commander';
import { layerCommit, layerDiff, layerReset } from '../../overlay/layer-ops.js';
import { parseRefName } from '../../store/refs.js';
import { findRootMount } from '../../mount.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';
import { out, printJson, warn } from '../output.js';
import { rootsOf } from './root.js';

export function register(program: Command): void {
  const layer = program.command('layer').description("what a root's writable layer captured: diff, commit, reset");

  layer.command('diff')
    .description("paths added (A), deleted (D) and modified (M) against the root's commit")
    .argument('<name>')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd), roots = rootsOf(cmd);
      const { changes, specials } = layerDiff(repo, roots.layerDir(name), roots.get(name).commit);
      if (o.json) printJson(changes);
      else for (const c of changes) out(`${c.change}    ${c.path}`);
      if (specials.length && !o.json) warn(`${specials.length} device node(s)/fifo(s) in the layer cannot be committed, e.g. ${specials[0]}`);
    });

  layer.command('commit')
    .description("commit the root's tree (its commit + the layer) to a branch; the root and layer stay as they are")
    .argument('<name>')
    .requiredOption('-b, --branch <branch>', 'branch to commit to')
    .option('-s, --subject <subject>', 'one-line subject')
    .option('-m, --body <body>', 'full description')
    .option('--json', 'print JSON')
    .action((name: string, o: { branch: string; subject?: string; body?: string; json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd), roots = rootsOf(cmd), branch = parseRefName(o.branch);
      const r = layerCommit(repo, roots.layerDir(name), roots.get(name).commit, { branch, subject: o.subject ?? `layer of root ${name}`, body: o.body });
      if (r.leftOut.length) warn(`left out ${r.leftOut.length} device node(s)/fifo(s) that OSTree cannot store, e.g. ${r.leftOut[0]}`);
      if (o.json) printJson(r);
      else out(r.checksum);
    });

  layer.command('reset')
    .description("drop the layer's changes (all, or at and below each PATH); the root must not be mounted")
    .argument('<name>')
    .argument('[paths...]')
    .action((name: string, paths: string[], _o: unknown, cmd: Command) => {
      const roots = rootsOf(cmd);
      const m = findRootMount(roots.sysroot, name);
      if (m) throw new HacktreeError('MOUNT', `root '${name}' is mounted at ${m.mountpoint}: unmount it before resetting its layer`);
      roots.get(name);
      layerReset(roots.layerDir(name), paths);
    });
}
