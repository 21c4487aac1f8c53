// One metric = hacktree's median against a peer's median measured in the same run on the same
// tree, their ratio, and the target the issue sets. Medians, because the machines are noisy.

export interface Target {
  /** What the target is on: the ratio, or hacktree's own figure (e.g. an RSS cap). */
  on: 'ratio' | 'hacktree';
  cmp: '<=' | '>=';
  value: number;
}

export interface Metric {
  group: string;
  name: string;
  /** What was measured, for the reader (command, cold/warm). */
  what: string;
  unit: 's' | 'MB' | 'bytes';
  hacktree: number[];
  peer: { name: string; values: number[] } | null;
  /** 'hacktree/peer' unless the target reads the other way round (e.g. first/recommit). */
  ratio: 'hacktree/peer' | 'peer/hacktree';
  target: Target | null;
  skipped?: string;
}

export interface Check {
  group: string;
  name: string;
  ok: boolean;
  detail: string;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Result {
  hacktree: number | null;
  peer: number | null;
  ratio: number | null;
  met: boolean | null;
}

export function result(m: Metric): Result {
  if (m.skipped !== undefined || m.hacktree.length === 0) return { hacktree: null, peer: null, ratio: null, met: null };
  const h = median(m.hacktree);
  const p = m.peer && m.peer.values.length > 0 ? median(m.peer.values) : null;
  const ratio = p === null ? null : m.ratio === 'hacktree/peer' ? h / p : p / h;
  let met: boolean | null = null;
  if (m.target) {
    const x = m.target.on === 'ratio' ? ratio : h;
    if (x !== null) met = m.target.cmp === '<=' ? x <= m.target.value : x >= m.target.value;
  }
  return { hacktree: h, peer: p, ratio, met };
}

function fmt(x: number | null, unit: Metric['unit']): string {
  if (x === null) return '—';
  if (unit === 's') return `${x.toFixed(3)} s`;
  if (unit === 'MB') return `${x.toFixed(1)} MB`;
  return `${Math.round(x)} bytes`;
}

function fmtTarget(m: Metric): string {
  if (!m.target) return 'no target: for reference';
  const t = m.target;
  const sign = t.cmp === '<=' ? '≤' : '≥';
  return t.on === 'ratio' ? `target ratio ${m.ratio} ${sign} ${t.value}` : `target ${sign} ${fmt(t.value, m.unit)}`;
}

/** `name: hacktree X  | peer NAME Y  | ratio R  (target ...)` */
export function line(m: Metric): string {
  const head = `${m.group}.${m.name}`;
  if (m.skipped !== undefined) return `${head}: skipped: ${m.skipped}`;
  const r = result(m);
  const peer = m.peer ? `peer ${m.peer.name} ${fmt(r.peer, m.unit)}` : 'peer —';
  const ratio = r.ratio === null ? '—' : r.ratio.toFixed(2);
  const verdict = r.met === null ? '' : r.met ? ': met' : ': MISSED';
  // The per-run figures under the medians, so a noisy run is visible.
  const each = (xs: number[]): string => xs.map((x) => (m.unit === 'bytes' ? String(x) : x.toFixed(m.unit === 's' ? 3 : 1))).join(' ');
  const runs = `runs: hacktree ${each(m.hacktree)}${m.peer ? `; ${m.peer.name} ${each(m.peer.values)}` : ''}`;
  return `${head}: hacktree ${fmt(r.hacktree, m.unit)}  | ${peer}  | ratio ${ratio}  (${fmtTarget(m)}${verdict})\n    ${m.what}\n    ${runs}`;
}

export function summary(metrics: Metric[], checks: Check[], errors: string[]): string[] {
  const results = metrics.map((m) => ({ m, r: result(m) }));
  const met = results.filter((x) => x.r.met === true).length;
  const missed = results.filter((x) => x.r.met === false);
  const skipped = metrics.filter((m) => m.skipped !== undefined).length;
  const badChecks = checks.filter((c) => !c.ok);
  const out = [
    `summary: ${metrics.length} metrics, ${met} targets met, ${missed.length} missed, ${skipped} skipped; ` +
      `${checks.length - badChecks.length}/${checks.length} correctness checks OK; ${errors.length} group error(s)`,
  ];
  for (const x of missed) {
    out.push(`  missed: ${x.m.group}.${x.m.name}: hacktree ${fmt(x.r.hacktree, x.m.unit)}, ratio ${x.r.ratio?.toFixed(2) ?? '—'} (${fmtTarget(x.m)})`);
  }
  for (const c of badChecks) out.push(`  MISMATCH: ${c.group}.${c.name}: ${c.detail}`);
  for (const e of errors) out.push(`  error: ${e}`);
  return out;
}

export function toJson(m: Metric): object {
  const r = result(m);
  return {
    group: m.group, name: m.name, what: m.what, unit: m.unit, skipped: m.skipped,
    hacktree: { median: r.hacktree, runs: m.hacktree },
    peer: m.peer && { name: m.peer.name, median: r.peer, runs: m.peer.values },
    ratio: r.ratio, ratioOf: m.ratio, target: m.target, met: r.met,
  };
}
