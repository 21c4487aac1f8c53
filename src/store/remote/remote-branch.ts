// Naming a remote's branch (REMOTE:BRANCH) without loading what fetches (lazy-commit.ts):
// mounting a local commit asks, and pays for no more.
import type { Repo } from '../repo.js';
import { listRemotes } from './remotes.js';

/** REMOTE:BRANCH (no ancestry suffix) split, or null; whether REMOTE is configured is not asked. */
export function parseRemoteBranch(rev: string): { remote: string; branch: string } | null {
  const m = /^([A-Za-z0-9._-]+):([^~^]+)$/.exec(rev);
  return m ? { remote: m[1]!, branch: m[2]! } : null;
}

/** REMOTE:BRANCH (no ancestry suffix) naming a configured remote, or null. */
export function remoteBranchOf(repo: Repo, rev: string): { remote: string; branch: string } | null {
  const rb = parseRemoteBranch(rev);
  return rb && listRemotes(repo).some((r) => r.name === rb.remote) ? rb : null;
}
