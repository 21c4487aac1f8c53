// fallocate(2) on a layer file's descriptor (OverlayFs.fallocate: for a core that
// passes FUSE_FALLOCATE on), against the same calls' results on the scratch disk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, fallocateArgs, fallocateFd } from '../src/overlay/fallocate.js';
import { requireTool } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const s = scratch('hacktree-fallocate-');
const MiB = 1024 * 1024;
const codeOf = async (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: { code?: unknown }) => e.code);

beforeAll(() => requireTool('fallocate', 'util-linux'));
afterAll(() => s.cleanup());

describe('fallocate on a layer file', () => {
  it('allocates (size grows, blocks are real), keeps the size with KEEP_SIZE, punches and zeroes ranges', async () => {
    const p = join(s.dir, 'f');
    fs.writeFileSync(p, 'abcdef');
    const fd = fs.openSync(p, 'r+');
    try {
      await fallocateFd(fd, 0, 0, MiB);
      expect(fs.fstatSync(fd).size).toBe(MiB);
      expect(fs.fstatSync(fd).blocks).toBeGreaterThanOrEqual(MiB / 512);
      await fallocateFd(fd, FALLOC_FL_KEEP_SIZE, 2 * MiB, MiB);
      expect(fs.fstatSync(fd).size).toBe(MiB);
      expect(fs.fstatSync(fd).blocks).toBeGreaterThanOrEqual((2 * MiB) / 512);
      await fallocateFd(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1, 2);
      const head = Buffer.alloc(6);
      fs.readSync(fd, head, 0, 6, 0);
      expect(head).toEqual(Buffer.from('a\0\0def'));
      await fallocateFd(fd, FALLOC_FL_ZERO_RANGE, MiB, MiB);
      expect(fs.fstatSync(fd).size).toBe(2 * MiB);
    } finally { fs.closeSync(fd); }
  });

  it('refuses what fallocate(2) refuses', async () => {
    expect(() => fallocateArgs(FALLOC_FL_PUNCH_HOLE, 0, 1)).toThrow('EOPNOTSUPP');
    expect(() => fallocateArgs(0, 0, 0)).toThrow('EINVAL');
    expect(() => fallocateArgs(0, -1, 1)).toThrow('EINVAL');
    expect(() => fallocateArgs(FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096)).toThrow('EINVAL');
    expect(() => fallocateArgs(0x100, 0, 1)).toThrow('EOPNOTSUPP');
    // Collapsing needs block-aligned ranges on ext4: the file system's answer comes back.
    const p = join(s.dir, 'g');
    fs.writeFileSync(p, Buffer.alloc(3 * 4096, 1));
    const fd = fs.openSync(p, 'r+');
    try {
      expect(await codeOf(fallocateFd(fd, FALLOC_FL_COLLAPSE_RANGE, 1, 10))).toBe('EINVAL');
      await fallocateFd(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096);
      expect(fs.fstatSync(fd).size).toBe(2 * 4096);
    } finally { fs.closeSync(fd); }
  });
});
