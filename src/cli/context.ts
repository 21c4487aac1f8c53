// Where the repository is: --repo, $HACKTREE_REPO, or SYSROOT/repo with SYSROOT
// from --sysroot, $HACKTREE_SYSROOT or /var/lib/hacktree.
import { join } from 'node:path';
import type { Command } from 'commander';
import { Repo } from '../store/repo.js';
import { UsageError } from '../errors.js';

export const DEFAULT_SYSROOT = '/var/lib/hacktree';

export interface GlobalOptions {
  repo?: string;
  sysroot?: string;
  fsync?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function sysrootPath(g: GlobalOptions): string {
  return g.sysroot ?? process.env.HACKTREE_SYSROOT ?? DEFAULT_SYSROOT;
}

export function repoPath(g: GlobalOptions): string {
  return g.repo ?? process.env.HACKTREE_REPO ?? join(sysrootPath(g), 'repo');
}

export function openRepo(cmd: Command): Repo {
  const g = globals(cmd);
  const repo = Repo.open(repoPath(g));
  if (g.fsync !== undefined) repo.durable = parseBool(g.fsync, '--fsync');
  return repo;
}

/** A positive number of seconds (e.g. --fetch-timeout), in milliseconds. */
export function parseSeconds(v: string, what: string): number {
  const s = Number(v);
  if (!(s > 0)) throw new UsageError(`${what} takes a positive number of seconds, not '${v}'`);
  return s * 1000;
}

export function parseBool(v: string, what: string): boolean {
  if (/^(true|yes|1|on)$/i.test(v)) return true;
  if (/^(false|no|0|off)$/i.test(v)) return false;
  throw new UsageError(`${what} takes true or false, not '${v}'`);
}
