// ed25519 commit signatures as `ostree sign --sign-type=ed25519` makes them: the
// detached metadata (.commitmeta) key `ostree.sign.ed25519` holds an `aay` of
// 64-byte signatures over the commit object's bytes. Key files hold one base64
// key per line: a secret key is libsodium's 64 bytes (seed ‖ public key), a
// public key 32 bytes. Node's crypto takes raw keys behind a fixed DER prefix.
import fs from 'node:fs';
import { dirname } from 'node:path';
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { HacktreeError, UsageError } from '../../errors.js';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { parseCommitMeta, serializeCommitMeta, type DetachedMetadata } from '../objects/commitmeta.js';
import { atomicWriteFileSync } from '../durable.js';

export const SIGN_KEY = 'ostree.sign.ed25519';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicKey { raw: Buffer; key: KeyObject }
interface SecretKey { key: KeyObject; pub: Buffer }

export function parsePublicKey(b64: string, where: string): PublicKey {
  const raw = Buffer.from(b64.trim(), 'base64');
  if (raw.length !== 32) throw new UsageError(`${where}: not a base64 ed25519 public key (decodes to ${raw.length} bytes, not 32)`);
  return { raw, key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

function parseSecretKey(b64: string, where: string): SecretKey {
  const raw = Buffer.from(b64.trim(), 'base64');
  if (raw.length !== 64) throw new UsageError(`${where}: not a base64 ed25519 secret key (decodes to ${raw.length} bytes, not 64)`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.from(createPublicKey(key).export({ format: 'der', type: 'spki' })).subarray(SPKI_PREFIX.length);
  if (!pub.equals(raw.subarray(32))) throw new UsageError(`${where}: the secret key's public half does not match its seed`);
  return { key, pub };
}

function keyLines(path: string): string[] {
  let text: string;
  try { text = fs.readFileSync(path, 'utf8'); } catch (e) { throw new HacktreeError('NOT_FOUND', `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new UsageError(`key file ${path} holds no key`);
  return lines;
}

export function readPublicKeys(path: string): PublicKey[] {
  return keyLines(path).map((l, i) => parsePublicKey(l, `${path} line ${i + 1}`));
}

const commitmetaPath = (repo: Repo, commit: Checksum): string => repo.objectPath(commit, 'commitmeta');

export function readDetached(repo: Repo, commit: Checksum): DetachedMetadata {
  let data: Buffer;
  try { data = fs.readFileSync(commitmetaPath(repo, commit)); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseDetached(data, commit);
}

export function parseDetached(data: Buffer, commit: Checksum): DetachedMetadata {
  try { return parseCommitMeta(data); } catch (e) { throw new HacktreeError('MALFORMED_OBJECT', `malformed detached metadata of commit ${commit}: ${(e as Error).message}`); }
}

/** Detached metadata is named after its commit, not its bytes: it is replaced, never linked like an object. */
export function writeDetached(repo: Repo, commit: Checksum, data: Buffer): void {
  fs.mkdirSync(dirname(commitmetaPath(repo, commit)), { recursive: true });
  atomicWriteFileSync(commitmetaPath(repo, commit), data, repo.durable);
}

export function signaturesOf(m: DetachedMetadata): Buffer[] {
  const e = m.find(([k]) => k === SIGN_KEY);
  if (!e) return [];
  if (e[1].type !== 'aay') throw new HacktreeError('MALFORMED_OBJECT', `${SIGN_KEY} has type ${e[1].type}, not aay`);
  return e[1].value as Buffer[];
}

/** Signs a commit with every secret key in `keyfile`; returns how many signatures were added. */
export function signCommit(repo: Repo, commit: Checksum, keyfile: string): number {
  const keys = keyLines(keyfile).map((l, i) => parseSecretKey(l, `${keyfile} line ${i + 1}`));
  const data = repo.readMetaObjectSync('commit', commit);
  const lock = repo.lock();
  try {
    const meta = readDetached(repo, commit);
    const sigs = signaturesOf(meta);
    let added = 0;
    for (const k of keys) {
      const sig = edSign(null, data, k.key);
      if (sigs.some((s) => s.equals(sig))) continue; // ed25519 is deterministic: same key, same signature
      sigs.push(sig);
      added++;
    }
    const rest = meta.filter(([key]) => key !== SIGN_KEY);
    writeDetached(repo, commit, serializeCommitMeta([...rest, [SIGN_KEY, { type: 'aay', value: sigs }]]));
    return added;
  } finally {
    lock.release();
  }
}

/** Throws unless one of the signatures in `detached` is a good one over `commitData` by a trusted key. */
export function verifyCommitSignature(commit: Checksum, commitData: Buffer, detached: Buffer | null, keys: PublicKey[], remote: string): void {
  if (!detached) throw new HacktreeError('BAD_SIGNATURE', `commit ${commit} from remote '${remote}' is not signed, and the remote requires ed25519 signatures`);
  const sigs = signaturesOf(parseDetached(detached, commit));
  if (sigs.length === 0) throw new HacktreeError('BAD_SIGNATURE', `commit ${commit} from remote '${remote}' has no ed25519 signature, and the remote requires one`);
  for (const s of sigs) {
    if (s.length !== 64) continue;
    if (keys.some((k) => edVerify(null, commitData, k.key, s))) return;
  }
  throw new HacktreeError('BAD_SIGNATURE', `commit ${commit} from remote '${remote}': no signature verifies with the remote's trusted key(s) (${sigs.length} signature(s) tried)`);
}
