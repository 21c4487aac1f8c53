import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800, month: 2592000, year: 31536000 };

/** ISO 8601, '@EPOCH', plain epoch seconds, or 'N units ago'. Returns seconds since the epoch. */
export function parseDate(s: string, what: string, now = Date.now()): number {
  const t = s.trim();
  if (/^@?\d+$/.test(t)) return Number(t.replace('@', ''));
  const ago = /^(\d+)\s*(second|minute|hour|day|week|month|year)s?\s+ago$/i.exec(t);
  if (ago) return Math.floor(now / 1000) - Number(ago[1]) * UNITS[ago[2]!.toLowerCase()]!;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new UsageError(`${what}: cannot read '${s}' as a date (use ISO 8601 like 2020-01-01T00:00:00Z, @EPOCH, or '3 days ago')`);
  return Math.floor(ms / 1000);
}

export function formatDate(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
}
