// Three-way merge of account files (passwd, group, shadow, gshadow, subuid,
// subgid) by entry: users and groups a new OS version adds appear, local
// additions and edits stay, group member lists merge, and a clash on one name
// keeps the local entry and is reported. (OSTree keeps the local file whole
// and silently drops the new system users.)

export const ACCOUNT_FILES = ['passwd', 'shadow', 'group', 'gshadow', 'subuid', 'subgid'] as const;
export type AccountFile = (typeof ACCOUNT_FILES)[number];

export function accountFileOf(path: string): AccountFile | null {
  const m = /^\/etc\/([a-z]+)$/.exec(path);
  return m && (ACCOUNT_FILES as readonly string[]).includes(m[1]!) ? (m[1] as AccountFile) : null;
}

/** Field holding a comma-separated member list, for the files that have one. */
const MEMBERS: Partial<Record<AccountFile, number>> = { group: 3, gshadow: 3 };

const keyOf = (line: string): string | null => (line.trim() === '' || line.startsWith('#') ? null : line.slice(0, line.indexOf(':') < 0 ? undefined : line.indexOf(':')));

function entries(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines(text)) { const k = keyOf(l); if (k !== null && !m.has(k)) m.set(k, l); }
  return m;
}

const lines = (text: string): string[] => text.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));

const members = (line: string, idx: number): string[] => (line.split(':')[idx] ?? '').split(',').filter(Boolean);

export interface MergeResult { text: string; clashes: string[]; added: string[] }

export function mergeAccounts(kind: AccountFile, old: string, upstream: string, local: string): MergeResult {
  const O = entries(old), N = entries(upstream);
  const seen = new Set<string>();
  const out: string[] = [];
  const clashes: string[] = [];
  const added: string[] = [];
  const mIdx = MEMBERS[kind];
  for (const l of lines(local)) {
    const k = keyOf(l);
    if (k === null) { out.push(l); continue; }
    if (seen.has(k)) { out.push(l); continue; }
    seen.add(k);
    const o = O.get(k), n = N.get(k);
    if (o !== undefined && n === undefined) {
      if (l !== o) out.push(l); // removed upstream, but edited here: keep the local entry
      continue;
    }
    if (o !== undefined && n !== undefined && o !== n) {
      if (l === o) { out.push(n); continue; }
      if (mIdx !== undefined && sameExceptMembers(l, n, mIdx) && sameExceptMembers(l, o, mIdx)) {
        out.push(withMembers(l, mergeMembers(members(o, mIdx), members(n, mIdx), members(l, mIdx)), mIdx));
        continue;
      }
      clashes.push(`${kind}: '${k}' changed both here and in the new commit; kept the local entry`);
      out.push(l);
      continue;
    }
    if (o === undefined && n !== undefined && n !== l) {
      if (mIdx !== undefined && sameExceptMembers(l, n, mIdx)) {
        out.push(withMembers(l, mergeMembers([], members(n, mIdx), members(l, mIdx)), mIdx));
        continue;
      }
      clashes.push(`${kind}: '${k}' was added both here and in the new commit; kept the local entry`);
    }
    out.push(l);
  }
  for (const [k, n] of N) {
    if (!seen.has(k) && !O.has(k)) { out.push(n); added.push(k); }
  }
  return { text: out.join('\n') + (out.length ? '\n' : ''), clashes, added };
}

function sameExceptMembers(a: string, b: string, idx: number): boolean {
  const fa = a.split(':'), fb = b.split(':');
  return fa.length === fb.length && fa.every((f, i) => i === idx || f === fb[i]);
}

function withMembers(line: string, list: string[], idx: number): string {
  const f = line.split(':');
  f[idx] = list.join(',');
  return f.join(':');
}

/** Local members, plus those the new commit added, minus those it removed (unless added here). */
function mergeMembers(old: string[], upstream: string[], local: string[]): string[] {
  const removedUpstream = new Set(old.filter((m) => !upstream.includes(m)));
  const addedLocally = new Set(local.filter((m) => !old.includes(m)));
  const out = local.filter((m) => !removedUpstream.has(m) || addedLocally.has(m));
  for (const m of upstream) if (!old.includes(m) && !out.includes(m)) out.push(m);
  return out;
}
