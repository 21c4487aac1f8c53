// A commit's prefetch list: the objects a lazy mount of it needed while it started, in the
// order it needed them. A later lazy mount of the same commit fetches them in the background
// at once, many in flight, where the start itself would have asked for them one after another.
//
// File: REPO/hacktree/prefetch/COMMIT.list, the same path on a server (published beside the
// objects, as the content maps are: ostree never asks for anything under hacktree/). Text, one
// entry a line: a kind letter, a space, a checksum. Kinds: `t` dirtree, `m` dirmeta, `f` a
// content object whole, `h` a content object's header only (what a listing needs of a large
// file). It is a hint, never trusted: every object it names is verified as any fetched object.
import { join } from 'node:path';
import { isChecksum, type Checksum } from './checksum.js';
import { MalformedObjectError } from '../errors.js';

export type PrefetchKind = 't' | 'm' | 'f' | 'h';

/** The object an entry names: a dirtree, a dirmeta, or a file's content ('f' whole, 'h' its header). */
export const kindType = (kind: PrefetchKind): 'dirtree' | 'dirmeta' | 'file' => (kind === 't' ? 'dirtree' : kind === 'm' ? 'dirmeta' : 'file');
export interface PrefetchEntry { kind: PrefetchKind; checksum: Checksum }

/** A start that needs more than this many objects is not what a prefetch list is for. */
export const MAX_PREFETCH_ENTRIES = 200_000;
export const MAX_PREFETCH_LIST_BYTES = MAX_PREFETCH_ENTRIES * 67;

export const prefetchListRelPath = (commit: Checksum): string => `hacktree/prefetch/${commit}.list`;
export const prefetchListPath = (repo: string, commit: Checksum): string => join(repo, prefetchListRelPath(commit));

export function serializePrefetchList(entries: readonly PrefetchEntry[]): string {
  return entries.map((e) => `${e.kind} ${e.checksum}\n`).join('');
}

export function parsePrefetchList(text: string): PrefetchEntry[] {
  const out: PrefetchEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const kind = line[0] as PrefetchKind;
    const checksum = line.slice(2);
    if (!'tmfh'.includes(kind) || line[1] !== ' ' || !isChecksum(checksum)) throw new MalformedObjectError(`prefetch list line ${i + 1}: expected 'KIND CHECKSUM' with KIND one of t, m, f, h`);
    out.push({ kind, checksum });
    if (out.length > MAX_PREFETCH_ENTRIES) throw new MalformedObjectError(`prefetch list: more than ${MAX_PREFETCH_ENTRIES} entries`);
  }
  return out;
}
