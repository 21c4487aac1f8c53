// Remotes, kept in the repository's `config` exactly as ostree writes them:
//   [remote "NAME"]  url=…  gpg-verify=false
// and, to verify ed25519 signatures, ostree's `sign-verify=true` with
// `verification-ed25519-key=BASE64` (inline) or `verification-ed25519-file=PATH`.
import fs from 'node:fs';
import { join } from 'node:path';
import { HacktreeError, UsageError } from '../../errors.js';
import { parseKeyFile, serializeKeyFile, type KeyFile } from '../config.js';
import { atomicWriteFileSync } from '../durable.js';
import type { Repo } from '../repo.js';
import { readPublicKeys, parsePublicKey, type PublicKey } from '../ops/sign.js';

export interface Remote {
  name: string;
  url: string;
  /** Non-null when the remote must verify signatures (sign-verify=true). */
  verify: { key?: string; file?: string } | null;
}

const NAME = /^[A-Za-z0-9._\-]+$/;
const section = (name: string): string => `remote "${name}"`;

function readConfig(repo: Repo): KeyFile {
  return parseKeyFile(fs.readFileSync(join(repo.path, 'config'), 'utf8'));
}

function writeConfig(repo: Repo, kf: KeyFile): void {
  atomicWriteFileSync(join(repo.path, 'config'), serializeKeyFile(kf), repo.durable);
}

export function listRemotes(repo: Repo): Remote[] {
  return readConfig(repo).flatMap((s) => {
    const m = /^remote "(.*)"$/.exec(s.section);
    if (!m) return [];
    const get = (k: string): string | undefined => s.entries.find(([key]) => key === k)?.[1];
    const verifying = get('sign-verify') === 'true' || get('sign-verify') === 'ed25519';
    return [{
      name: m[1]!,
      url: get('url') ?? '',
      verify: verifying ? { key: get('verification-ed25519-key'), file: get('verification-ed25519-file') } : null,
    }];
  });
}

export function getRemote(repo: Repo, name: string): Remote {
  const r = listRemotes(repo).find((x) => x.name === name);
  if (!r) throw new HacktreeError('NOT_FOUND', `no remote '${name}' (add it with \`hacktree remote add ${name} URL\`)`);
  if (!r.url) throw new HacktreeError('BAD_REPO', `remote '${name}' has no url in the config`);
  return r;
}

/**
 * `KEY` as ostree's `--sign-verify` takes it: `ed25519=inline:BASE64` or
 * `ed25519=file:PATH`; a bare base64 public key means inline.
 */
export function parseSignVerify(spec: string): { key?: string; file?: string } {
  const m = /^(?:ed25519=)?(inline|file):(.+)$/.exec(spec);
  if (m) return m[1] === 'inline' ? { key: checkedKey(m[2]!) } : { file: m[2]! };
  if (/^[a-z0-9]+=/.test(spec)) throw new UsageError(`--sign-verify: only ed25519 is supported, not '${spec.split('=')[0]}'`);
  return { key: checkedKey(spec) };
}

function checkedKey(b64: string): string {
  parsePublicKey(b64, '--sign-verify');
  return b64;
}

export function addRemote(repo: Repo, name: string, url: string, verify: { key?: string; file?: string } | null): void {
  if (!NAME.test(name)) throw new UsageError(`invalid remote name '${name}': use letters, digits, '.', '_' and '-'`);
  if (!/^https?:\/\/./.test(url)) throw new UsageError(`remote URL '${url}' is not http:// or https://`);
  const kf = readConfig(repo);
  if (kf.some((s) => s.section === section(name))) throw new HacktreeError('REPO_EXISTS', `remote '${name}' already exists (delete it first)`);
  const entries: Array<[string, string]> = [['url', url], ['gpg-verify', 'false']];
  if (verify) {
    entries.push(['sign-verify', 'true']);
    if (verify.key) entries.push(['verification-ed25519-key', verify.key]);
    if (verify.file) entries.push(['verification-ed25519-file', verify.file]);
  }
  kf.push({ section: section(name), entries });
  writeConfig(repo, kf);
}

export function deleteRemote(repo: Repo, name: string): void {
  const kf = readConfig(repo);
  const i = kf.findIndex((s) => s.section === section(name));
  if (i < 0) throw new HacktreeError('NOT_FOUND', `no remote '${name}'`);
  kf.splice(i, 1);
  writeConfig(repo, kf);
}

/** The public keys a verifying remote trusts. */
export function trustedKeys(r: Remote): PublicKey[] {
  if (!r.verify) return [];
  const keys: PublicKey[] = [];
  if (r.verify.key) keys.push(parsePublicKey(r.verify.key, `remote '${r.name}' verification-ed25519-key`));
  if (r.verify.file) keys.push(...readPublicKeys(r.verify.file));
  if (keys.length === 0) throw new HacktreeError('BAD_REPO', `remote '${r.name}' has sign-verify=true but no verification-ed25519-key or -file`);
  return keys;
}
