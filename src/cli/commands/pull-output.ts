// What pull and pull-local print.
import type { PullResult } from '../../store/ops/pull.js';
import { out, printJson } from '../output.js';

export function printPullResult(refs: Array<{ ref: string; commit: string }>, r: PullResult, json: boolean): void {
  if (json) { printJson({ refs, ...r }); return; }
  for (const { ref, commit } of refs) out(`${ref} ${commit}`);
  out(`${r.metaFetched + r.contentFetched} objects fetched (${r.contentFetched} content, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.requests} requests), ` +
    `${r.contentRebuilt} rebuilt from local content, in ${r.seconds.toFixed(1)} s`);
}
