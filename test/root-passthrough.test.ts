// A root's files pass through (native/ll/passthrough.c): the kernel reads and writes the
// layer's file itself, and reads a commit file of an untouched subtree from its checked object
// file; the daemon sees no READ or WRITE for them. The kernel keeps one I/O
// mode per inode and fails an open that breaks it with EIO, so these tests open files in the
// orders that mix the modes: a commit file read while it is copied up, a layer file opened
// again while it passes through, a layer file reset while it is held open. And -o
// nopassthrough sends the writes to the daemon again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { htOk, requireRoot } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { requireFuse, stopCounts, unmountAll } from './helpers/mounts.js';
import { logPath } from '../src/mount-state.js';
import { kernelPath } from '../src/fuse/mountinfo.js';

const s = scratch('hacktree-passthrough-');
const sysroot = join(s.dir, 'sysroot');
const H = (...a: string[]) => htOk(['--sysroot', sysroot, ...a]);
const mnt = join(sysroot, 'roots', 'r', 'mnt');
const m = (p: string) => join(mnt, p);
/** Commit files that readers open while a writer copies each up (the race below). */
const RACE_FILES = 400;
const upper = (p: string) => join(sysroot, 'roots', 'r', 'layer', 'upper', p);
const log = (): string => fs.readFileSync(logPath(kernelPath(mnt)), 'utf8');

/** The kernel's request counts the daemon logged when it last stopped. */
const lastStop = (): Record<string, number> => stopCounts(kernelPath(mnt)).kernel;

/** Writes 1 MiB 4 KiB at a time to a new file of the layer and reads it back. */
function writeMiB(name: string): void {
  const fd = fs.openSync(m(name), 'w+');
  for (let i = 0; i < 256; i++) fs.writeSync(fd, Buffer.alloc(4096, i));
  fs.closeSync(fd);
  const back = fs.readFileSync(m(name));
  expect(back.length).toBe(1 << 20);
  expect(back[4096 * 255]).toBe(255);
  expect(fs.readFileSync(upper(name)).equals(back)).toBe(true);
}

/** Resets a layer file `held` open, reads both sides, and writes the name again. */
function resetWhileHeld(held: number): void {
  H('layer', 'reset', 'r', '/var/reset-me');
  expect(fs.readFileSync(m('var/reset-me'), 'utf8')).toBe('the commit says\n');
  const b = Buffer.alloc(64);
  expect(b.toString('utf8', 0, fs.readSync(held, b, 0, 64, 0))).toBe('the layer says\n');
  // Written again while the old file is still open: a new layer file, another inode.
  fs.writeFileSync(m('var/reset-me'), 'written again\n');
  expect(fs.readFileSync(m('var/reset-me'), 'utf8')).toBe('written again\n');
  expect(fs.readFileSync(upper('var/reset-me'), 'utf8')).toBe('written again\n');
  expect(b.toString('utf8', 0, fs.readSync(held, b, 0, 64, 0))).toBe('the layer says\n');
}

beforeAll(() => {
  requireRoot('mounts roots with allow_other');
  requireFuse();
  const [major, minor] = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').split('.').map(Number);
  if (major! < 6 || (major === 6 && minor! < 9)) throw new Error('this test needs FUSE passthrough: Linux 6.9 or later');
  fs.chmodSync(s.dir, 0o755);
  const tree = join(s.dir, 'tree');
  for (const d of ['var/tmp', 'etc', 'usr']) fs.mkdirSync(join(tree, d), { recursive: true });
  fs.writeFileSync(join(tree, 'var/kept'), 'from the commit\n');
  fs.writeFileSync(join(tree, 'var/reset-me'), 'the commit says\n');
  fs.mkdirSync(join(tree, 'var/race'));
  for (let i = 0; i < RACE_FILES; i++) fs.writeFileSync(join(tree, `var/race/f${i}`), `commit ${i}\n`);
  // /usr/lib: an untouched subtree (grafted), its files the commit's.
  fs.mkdirSync(join(tree, 'usr/lib'));
  fs.writeFileSync(join(tree, 'usr/lib/data.txt'), 'read from its object\n');
  fs.writeFileSync(join(tree, 'usr/lib/other.txt'), 'its object gets corrupted\n');
  H('init');
  H('commit', '-b', 'os', tree);
  H('root', 'create', 'r', 'os');
  H('root', 'mount', 'r');
});

afterAll(() => {
  unmountAll(mnt);
  s.cleanup();
});

describe("a root's files pass through", () => {
  it('writes and reads of a layer file never reach the daemon', () => {
    expect(log()).toMatch(/passthrough of the root's files: on\n[^]*$/);
    writeMiB('var/tmp/big');
    H('root', 'umount', 'r');
    const counts = lastStop();
    expect(counts.create).toBeGreaterThan(0);
    expect(counts.write ?? 0).toBe(0);
    expect(counts.read ?? 0).toBe(0);
    H('root', 'mount', 'r');
  });

  it('a file of the commit, open for reading while it is copied up: both descriptors read the new bytes', () => {
    const reader = fs.openSync(m('var/kept'), 'r');
    expect(fs.readFileSync(m('var/kept'), 'utf8')).toBe('from the commit\n');
    const writer = fs.openSync(m('var/kept'), 'r+');
    fs.writeSync(writer, 'FROM', 0);
    const b = Buffer.alloc(64);
    expect(b.toString('utf8', 0, fs.readSync(reader, b, 0, 64, 0))).toBe('FROM the commit\n');
    expect(b.toString('utf8', 0, fs.readSync(writer, b, 0, 64, 0))).toBe('FROM the commit\n');
    fs.closeSync(reader);
    fs.closeSync(writer);
    // Closed: the next opens pass through, and see the same bytes.
    expect(fs.readFileSync(m('var/kept'), 'utf8')).toBe('FROM the commit\n');
    fs.appendFileSync(m('var/kept'), 'more\n');
    expect(fs.readFileSync(upper('var/kept'), 'utf8')).toBe('FROM the commit\nmore\n');
  });

  it('opens to read a commit file while another open copies it up all succeed: none gets the EIO of a mixed I/O mode', async () => {
    // Three readers open the file over and over while a writer appends to it: an open to read
    // the commit's file, decided while the writer's copy-up passed the file through, failed with
    // EIO when its reply said "cached" (within the first 400 files, by hand: a writer's open at
    // the 392nd). The kernel keeps one I/O mode per inode.
    const errors: string[] = [];
    const failed = (p: string) => (e: unknown): void => { errors.push(`${p}: ${(e as NodeJS.ErrnoException).code}`); };
    for (let i = 0; i < RACE_FILES; i++) {
      const p = m(`var/race/f${i}`);
      let writing = true;
      const reader = async (): Promise<void> => { while (writing) await fs.promises.readFile(p).then(() => {}, failed(p)); };
      const readers = [reader(), reader(), reader()];
      await fs.promises.appendFile(p, 'x').catch(failed(p)).finally(() => { writing = false; });
      await Promise.all(readers);
    }
    expect(errors).toEqual([]);
    expect(fs.readFileSync(m(`var/race/f${RACE_FILES - 1}`), 'utf8')).toBe(`commit ${RACE_FILES - 1}\nx`);
  }, 120_000);

  it('a layer file opened again while it passes through: every descriptor reads and writes the one file', () => {
    const a = fs.openSync(m('var/tmp/shared'), 'w+');
    fs.writeSync(a, 'abc');
    const b = fs.openSync(m('var/tmp/shared'), 'r');
    const c = fs.openSync(m('var/tmp/shared'), 'a');
    fs.writeSync(c, 'def');
    const buf = Buffer.alloc(16);
    expect(buf.toString('utf8', 0, fs.readSync(b, buf, 0, 16, 0))).toBe('abcdef');
    expect(fs.fstatSync(b).size).toBe(6);
    for (const fd of [a, b, c]) fs.closeSync(fd);
    expect(fs.statSync(m('var/tmp/shared')).size).toBe(6);
  });

  it('a layer file reset while held open: the open descriptor keeps its file, a new open reads the commit', () => {
    fs.writeFileSync(m('var/reset-me'), 'the layer says\n');
    const held = fs.openSync(m('var/reset-me'), 'r+');
    try {
      resetWhileHeld(held);
    } finally {
      fs.closeSync(held);
    }
  });

  it('a commit file of an untouched subtree is read by the kernel from its object file: no READ reaches the daemon', () => {
    H('root', 'umount', 'r');
    H('root', 'mount', 'r');
    // The first open checks the object, the second finds it checked.
    for (let i = 0; i < 2; i++) expect(fs.readFileSync(m('usr/lib/data.txt'), 'utf8')).toBe('read from its object\n');
    H('root', 'umount', 'r');
    const counts = lastStop();
    expect(counts.open).toBeGreaterThanOrEqual(2);
    expect(counts.read ?? 0).toBe(0);
    H('root', 'mount', 'r');
  });

  it("a corrupt object fails its file's open with EIO, and the daemon lives on", () => {
    const objects = join(sysroot, 'repo', 'objects');
    const object = fs.readdirSync(objects).flatMap((d) => fs.readdirSync(join(objects, d)).map((f) => join(objects, d, f)))
      .find((f) => f.endsWith('.file') && fs.readFileSync(f, 'utf8') === 'its object gets corrupted\n');
    expect(object).toBeDefined();
    fs.writeFileSync(object!, 'its object got corrupted!\n');
    expect(() => fs.readFileSync(m('usr/lib/other.txt'))).toThrow(/EIO/);
    expect(fs.readFileSync(m('usr/lib/data.txt'), 'utf8')).toBe('read from its object\n');
  });

  it('-o nopassthrough sends the writes to the daemon', () => {
    H('root', 'umount', 'r');
    H('root', 'mount', 'r', '-o', 'nopassthrough');
    expect(log()).toMatch(/passthrough of the root's files: off\n[^]*$/);
    writeMiB('var/tmp/big2');
    H('root', 'umount', 'r');
    expect(lastStop().write).toBeGreaterThanOrEqual(256);
    H('root', 'mount', 'r');
  });
});
