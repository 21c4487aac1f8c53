import { createHash } from 'node:crypto';

export type Checksum = string; // 64 lowercase hex digits

const HEX64 = /^[0-9a-f]{64}$/;

export function isChecksum(s: string): boolean {
  return HEX64.test(s);
}

export function sha256Hex(...parts: Buffer[]): Checksum {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function checksumToBytes(c: Checksum): Buffer {
  return Buffer.from(c, 'hex');
}

export function bytesToChecksum(b: Buffer): Checksum {
  if (b.length !== 32) throw new RangeError(`checksum must be 32 bytes, got ${b.length}`);
  return b.toString('hex');
}
