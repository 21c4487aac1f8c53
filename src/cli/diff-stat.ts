// `diff --stat` and `layer diff --stat`: each changed path with its size before and after, and the totals.
import { formatBytes, out } from './output.js';

/** `before` and `after` are null where the side has nothing, and both for a directory whose metadata alone changed. */
export interface StatEntry { change: 'A' | 'D' | 'M'; path: string; before: number | null; after: number | null }

type Sized = { bytes: number; dir: boolean } | null;

/** A change's sizes; a directory changed in place is listed for its metadata, its content under its own paths. */
export function statEntry(change: 'A' | 'D' | 'M', path: string, before: Sized, after: Sized): StatEntry {
  if (change === 'M' && (before?.dir || after?.dir)) return { change, path, before: null, after: null };
  return { change, path, before: change === 'A' ? null : before?.bytes ?? null, after: change === 'D' ? null : after?.bytes ?? null };
}

export interface StatTotals { added: number; deleted: number; modified: number; bytesAdded: number; bytesRemoved: number }

export function statTotals(entries: StatEntry[]): StatTotals {
  const t: StatTotals = { added: 0, deleted: 0, modified: 0, bytesAdded: 0, bytesRemoved: 0 };
  for (const e of entries) {
    t[e.change === 'A' ? 'added' : e.change === 'D' ? 'deleted' : 'modified']++;
    const delta = (e.after ?? 0) - (e.before ?? 0);
    if (delta > 0) t.bytesAdded += delta; else t.bytesRemoved -= delta;
  }
  return t;
}

const size = (n: number | null): string => (n === null ? '-' : formatBytes(n));

export function printStat(entries: StatEntry[]): void {
  const w = Math.max(0, ...entries.map((e) => e.path.length));
  for (const e of entries) {
    const sizes = e.change === 'A' ? `+${size(e.after)}` : e.change === 'D' ? `-${size(e.before)}`
      : e.before === null && e.after === null ? '(metadata)' : `${size(e.before)} -> ${size(e.after)}`;
    out(`${e.change}    ${e.path.padEnd(w)}  ${sizes}`);
  }
  const t = statTotals(entries);
  out(`${entries.length} path${entries.length === 1 ? '' : 's'} changed (${t.added} added, ${t.deleted} deleted, ${t.modified} modified): +${formatBytes(t.bytesAdded)}, -${formatBytes(t.bytesRemoved)}`);
}
