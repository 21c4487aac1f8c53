// The repository's `config`, a GLib key file as ostree writes it.

export type RepoMode = 'bare' | 'bare-user' | 'bare-user-only' | 'archive';

export const USER_MODES: readonly string[] = ['bare-user', 'bare', 'archive'];

/** Sections in file order, each an ordered list of key/value pairs. */
export type KeyFile = Array<{ section: string; entries: Array<[string, string]> }>;

export function parseKeyFile(text: string): KeyFile {
  const out: KeyFile = [];
  let cur: KeyFile[number] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      cur = { section: line.slice(1, -1), entries: [] };
      out.push(cur);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !cur) throw new Error(`bad line in config: ${line}`);
    cur.entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}

export function serializeKeyFile(kf: KeyFile): string {
  return kf.map((s) => `[${s.section}]\n${s.entries.map(([k, v]) => `${k}=${v}\n`).join('')}`).join('\n');
}

export function getKey(kf: KeyFile, section: string, key: string): string | undefined {
  return kf.find((s) => s.section === section)?.entries.find(([k]) => k === key)?.[1];
}

/** ostree writes archive mode as `archive-z2`; both spellings mean the same. */
export function modeFromConfig(value: string | undefined): RepoMode | undefined {
  switch (value) {
    case 'bare': case 'bare-user': case 'bare-user-only': return value;
    case 'archive': case 'archive-z2': return 'archive';
    default: return undefined;
  }
}

export function modeToConfig(mode: RepoMode): string {
  return mode === 'archive' ? 'archive-z2' : mode;
}

export function initialConfig(mode: RepoMode): string {
  return serializeKeyFile([{ section: 'core', entries: [['repo_version', '1'], ['mode', modeToConfig(mode)]] }]);
}
