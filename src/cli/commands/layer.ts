import type { Command } from 'commander';
import { layerCommit, layerDiff, layerReset } from '../../overlay/layer-ops.js';
import { parseRefName } from '../../store/refs.js';
import { findRootMount, reloadRootMount } from '../../roots/root-mount.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';
import { out, printJson, printTable, warn } from '../output.js';
import { SizeReader } from '../../store/ops/sizes.js';
import { printStat, statEntry, statTotals, type StatEntry } from '../diff-stat.js';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { rootsOf } from './root.js';
import { readLayerBase } from '../../overlay/ephemeral-layer.js';
import { findLayerMount } from '../../mount.js';
import type { Checksum } from '../../store/checksum.js';

/**
 * The layer a command names: a root's (by the root's name), or a kept throwaway layer (by its
 * directory: an argument with a '/', which a root's name never has), with the commit under it.
 */
function layerOf(cmd: Command, arg: string): { dir: string; commit: Checksum; label: string } {
  if (arg.includes('/')) return { dir: resolve(arg), commit: readLayerBase(arg).commit, label: `layer ${arg}` };
  const roots = rootsOf(cmd);
  return { dir: roots.layerDir(arg), commit: roots.get(arg).commit, label: `root ${arg}` };
}

const LAYER_ARG = ['<name>', "a root's name, or the directory of a layer kept with --keep-layer (with a '/')"] as const;

/** The bytes of a layer file, or of the regular files below a layer directory; null where the layer has nothing. */
function upperSize(path: string): { bytes: number; dir: boolean } | null {
  const st = fs.lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (!st.isDirectory()) return { bytes: st.isFile() ? st.size : 0, dir: false };
  let bytes = 0;
  for (const e of fs.readdirSync(path)) bytes += upperSize(join(path, e))?.bytes ?? 0;
  return { bytes, dir: true };
}

export function register(program: Command): void {
  const layer = program.command('layer').description("what a root's writable layer captured: diff, commit, reset");

  layer.command('diff')
    .description("paths added (A), deleted (D) and modified (M) against the root's commit")
    .argument(...LAYER_ARG)
    .option('--stat', "with each path its size in the root's commit and in the layer, and the totals")
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean; stat?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd);
      const { dir, commit } = layerOf(cmd, name);
      const { changes, specials } = layerDiff(repo, dir, commit);
      if (o.stat) {
        const sizes = new SizeReader(repo);
        const upper = join(dir, 'upper');
        const entries: StatEntry[] = [];
        for (const c of changes) {
          const before = c.change === 'A' ? null : await sizes.atPath(commit, c.path);
          // A metadata change of a base file leaves its content in the commit.
          const after = c.change === 'D' ? null : upperSize(join(upper, c.path)) ?? before;
          entries.push(statEntry(c.change, c.path, before, after));
        }
        if (o.json) printJson({ changes: entries, totals: statTotals(entries) });
        else printStat(entries);
      } else if (o.json) printJson(changes);
      else printTable(['CHANGE', 'PATH'], changes.map((c) => [c.change, c.path]));
      if (specials.length && !o.json) warn(`${specials.length} device node(s)/fifo(s) in the layer cannot be committed, e.g. ${specials[0]}`);
    });

  layer.command('commit')
    .description("commit the root's tree (its commit + the layer) to a branch; the root and layer stay as they are")
    .argument(...LAYER_ARG)
    .requiredOption('-b, --branch <branch>', 'branch to commit to')
    .option('-s, --subject <subject>', 'one-line subject')
    .option('-m, --body <body>', 'full description')
    .option('--json', 'print JSON')
    .action((name: string, o: { branch: string; subject?: string; body?: string; json?: boolean }, cmd: Command) => {
      const repo = openRepo(cmd), branch = parseRefName(o.branch);
      const { dir, commit, label } = layerOf(cmd, name);
      const r = layerCommit(repo, dir, commit, { branch, subject: o.subject ?? `layer of ${label}`, body: o.body });
      if (r.leftOut.length) warn(`left out ${r.leftOut.length} device node(s)/fifo(s) that OSTree cannot store, e.g. ${r.leftOut[0]}`);
      if (o.json) printJson(r);
      else out(r.checksum);
    });

  layer.command('reset')
    .description("drop the layer's changes (all, or at and below each PATH); a mounted root shows the commit's at once")
    .argument(...LAYER_ARG)
    .argument('[paths...]')
    .action(async (name: string, paths: string[], _o: unknown, cmd: Command) => {
      const { dir, label } = layerOf(cmd, name);
      // A kept throwaway layer's daemon is not told of resets: it must not be serving it.
      const m = name.includes('/') ? findLayerMount(dir) : undefined;
      if (m) throw new HacktreeError('MOUNT', `${label} is mounted at ${m.mountpoint}: unmount it before resetting it`);
      // A booted system's daemon takes nothing up again: its layer stays as it is while it runs.
      const booted = name.includes('/') ? undefined : findRootMount(rootsOf(cmd).sysroot, name);
      if (booted?.booted) throw new HacktreeError('MOUNT', `${label} is the booted system's /: reset it from another system, or with the machine booted into another root`);
      layerReset(dir, paths);
      // A root's daemon takes the layer up again and the kernel forgets what it had of it.
      if (!name.includes('/')) await reloadRootMount(rootsOf(cmd), name);
    });
}
