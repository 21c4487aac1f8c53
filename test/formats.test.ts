import { describe, expect, it } from 'vitest';
import { deserialize, serialize, isNormalForm } from '../src/store/gvariant.js';
import { contentChecksum, serializeFileHeader, serializeArchiveHeader, parseArchiveHeader, serializeBareUserMeta, parseFileHeader } from '../src/store/objects/file-header.js';
import { serializeDirMeta, parseDirMeta } from '../src/store/objects/dirmeta.js';
import { serializeDirTree, parseDirTree } from '../src/store/objects/dirtree.js';
import { serializeCommit, parseCommit } from '../src/store/objects/commit.js';
import { sha256Hex } from '../src/store/checksum.js';
import { parseLinkCounts, serializeLinkCounts } from '../src/store/link-counts.js';
import { PACK_MAGIC, parsePack, serializePack } from '../src/store/prefetch-pack.js';
import { deflateRawSync } from 'node:zlib';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const HELLO = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] };
const LINK = { uid: 0, gid: 0, mode: 0o120777, symlinkTarget: 'hello.txt', xattrs: [] };
const ROOTMETA = '446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488';
const EMPTY_TREE = '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d';

describe('content objects (reference vector 1)', () => {
  it('serializes the file header of hello.txt byte for byte', () => {
    expect(serializeFileHeader(HELLO)).toEqual(hex('00000000 00000000 000081a4 00000000 00 11'));
  });
  it('gives OSTree checksums for a file and a symlink', () => {
    expect(contentChecksum(HELLO, Buffer.from('hello\n'))).toBe('44f778e59f0a4748d6b0c90a47347212a231c4ad1e8f7ea5c5dffc7749153a6b');
    expect(serializeFileHeader(LINK)).toEqual(hex('00000000 00000000 0000a1ff 00000000 68656c6c6f2e74787400 1a'));
    expect(contentChecksum(LINK, Buffer.alloc(0))).toBe('f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35');
  });
  it('writes the .filez header and raw deflate that ostree writes', () => {
    const z = Buffer.concat([serializeArchiveHeader(HELLO, 6), deflateRawSync(Buffer.from('hello\n'), { level: 6 })]);
    expect(z).toEqual(hex('0000001a 00000000 00000000 00000006 00000000 00000000 000081a4 00000000 00 19 cb48cdc9c9e70200'));
    const parsed = parseArchiveHeader(z);
    expect(parsed.size).toBe(6);
    expect(parsed.meta).toEqual(HELLO);
    expect(parsed.dataOffset).toBe(34);
  });
  it('writes the bare-user metadata xattr ostree writes', () => {
    expect(serializeBareUserMeta(HELLO)).toEqual(hex('00000000 00000000 000081a4'));
  });
});

describe('metadata objects (reference vector 1)', () => {
  it('dirmeta 0,0,040755', () => {
    const b = serializeDirMeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
    expect(b).toEqual(hex('00000000 00000000 000041ed'));
    expect(sha256Hex(b)).toBe(ROOTMETA);
    expect(parseDirMeta(b)).toEqual({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
  });
  it('empty dirtree is one zero byte', () => {
    const b = serializeDirTree({ files: [], dirs: [] });
    expect(b).toEqual(hex('00'));
    expect(sha256Hex(b)).toBe(EMPTY_TREE);
  });
  it('root dirtree and commit checksums', () => {
    const tree = serializeDirTree({
      files: [
        { name: 'link', checksum: 'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35' },
        { name: 'hello.txt', checksum: '44f778e59f0a4748d6b0c90a47347212a231c4ad1e8f7ea5c5dffc7749153a6b' },
      ],
      dirs: [{ name: 'sub', tree: EMPTY_TREE, meta: ROOTMETA }],
    });
    expect(tree.length).toBe(155);
    const treeSum = sha256Hex(tree);
    expect(treeSum).toBe('0e902c3feb440b1f12c1d183f878db144a0102636dbbe2392301af4b532c1c9d');
    expect(parseDirTree(tree).files.map((f) => f.name)).toEqual(['hello.txt', 'link']);
    const base = { parent: null, subject: 'test', body: '', timestamp: 1577836800, rootTree: treeSum, rootMeta: ROOTMETA };
    const commit = serializeCommit({ ...base, metadata: [['ostree.ref-binding', { type: 'as', value: ['main'] }]] });
    expect(commit.length).toBe(126);
    expect(commit.subarray(-6)).toEqual(hex('58 29 28 23 23 23'));
    expect(sha256Hex(commit)).toBe('f16613e5bb4ac58e13becda54ecba712fdaaf32ee812fe3c1e36674b679a69c0');
    const orphan = serializeCommit({ ...base, metadata: [] });
    expect(orphan.length).toBe(86);
    expect(sha256Hex(orphan)).toBe('429dc2c7f1af28a6ece125871436fc88622404794166a04e5e65748046d704e4');
    expect(parseCommit(commit)).toEqual({ ...base, metadata: [['ostree.ref-binding', { type: 'as', value: ['main'] }]] });
  });
});

describe('reference vector 2 (xattrs, uid 1000, setuid)', () => {
  const xattrs: Array<[string, Buffer]> = [['user.foo', Buffer.from('bar')], ['user.abc', hex('3100')]];
  it('dirmeta with a user.dir xattr', () => {
    const b = serializeDirMeta({ uid: 1000, gid: 1000, mode: 0o40700, xattrs: [['user.dir', Buffer.from('x')]] });
    expect(b).toEqual(hex('000003e8 000003e8 000041c0 757365722e6469720078 09 0b'));
    expect(sha256Hex(b)).toBe('7e967c87db0d209d165ba7abe12737e7aafb75536c477b26c0aafc5162b5e51b');
  });
  it('files with xattrs sorted by name, and setuid', () => {
    expect(contentChecksum({ uid: 1000, gid: 1000, mode: 0o100644, symlinkTarget: '', xattrs }, Buffer.from('hello\n')))
      .toBe('2443f0d8baa2f6068c0c22d052e113204fbe002ef196bdee537844d49330c7ce');
    expect(contentChecksum({ uid: 1000, gid: 1000, mode: 0o104755, symlinkTarget: '', xattrs: [] }, Buffer.from('#!/bin/sh\necho hi\n')))
      .toBe('847c8a4e05a37fe95ffd7575b3c12cdcaebbe34de9edb3d9556970ccba291e21');
    const h = serializeFileHeader({ uid: 1000, gid: 1000, mode: 0o100644, symlinkTarget: '', xattrs });
    expect(parseFileHeader(h).xattrs.map(([n]) => n)).toEqual(['user.abc', 'user.foo']);
  });
});

describe('gvariant', () => {
  it('round-trips a{sv} with mixed variants and uses 2-byte offsets past 255 bytes', () => {
    const big = 'x'.repeat(300);
    const v = [['a', { type: 's', value: big }], ['b', { type: 't', value: 5n }], ['c', { type: 'aay', value: [Buffer.from('q'), Buffer.alloc(0)] }]];
    const b = serialize('a{sv}', v);
    expect(deserialize('a{sv}', b)).toEqual(v);
    expect(isNormalForm('a{sv}', b)).toBe(true);
  });
  it('rejects out-of-range offsets instead of reading garbage', () => {
    const b = serializeDirTree({ files: [{ name: 'a', checksum: EMPTY_TREE }], dirs: [] });
    const broken = Buffer.from(b);
    broken[broken.length - 1] = 0xff;
    expect(() => parseDirTree(broken)).toThrow(/malformed/);
  });
  it('refuses dirtree entries that could escape a checkout', () => {
    for (const name of ['..', '.', '', 'a/b']) {
      const b = serialize('(a(say)a(sayay))', [[[name, Buffer.alloc(32)]], []]);
      expect(() => parseDirTree(b)).toThrow(/refusing tree entry/);
    }
  });
});

describe('link counts (src/store/link-counts.ts)', () => {
  const A = 'a'.repeat(64), B = 'b'.repeat(64);
  it('round-trips, in checksum order whatever the map order', () => {
    const raw = serializeLinkCounts(new Map([[B, 3], [A, 2]]));
    expect(raw.length).toBe(8 + 2 * 36);
    expect(raw.subarray(8, 40).toString('hex')).toBe(A);
    expect([...parseLinkCounts(raw)]).toEqual([[A, 2], [B, 3]]);
  });
  it('refuses a record that cannot be right', () => {
    const raw = serializeLinkCounts(new Map([[A, 2]]));
    expect(() => parseLinkCounts(raw.subarray(0, raw.length - 1))).toThrow(/bytes for 1 entries/);
    const one = Buffer.from(raw); one.writeUInt32LE(1, 40);
    expect(() => parseLinkCounts(one)).toThrow(/a count of 1/);
    const v2 = Buffer.from(raw); v2.writeUInt32LE(2, 0);
    expect(() => parseLinkCounts(v2)).toThrow(/unknown version/);
  });
});

describe('prefetch packs (src/store/prefetch-pack.ts)', () => {
  const A = 'a'.repeat(64), B = 'b'.repeat(64);
  it('round-trips entries of every kind, in order', () => {
    const entries = [
      { kind: 't' as const, checksum: A, bytes: Buffer.from('tree') },
      { kind: 'h' as const, checksum: B, bytes: Buffer.alloc(0) },
      { kind: 'f' as const, checksum: A, bytes: Buffer.from('file bytes') },
    ];
    const raw = serializePack(entries);
    expect(raw.subarray(0, 8)).toEqual(PACK_MAGIC);
    expect(raw.length).toBe(8 + 3 * 37 + 4 + 0 + 10);
    expect(parsePack(raw).map((e) => ({ ...e, bytes: Buffer.from(e.bytes) }))).toEqual(entries);
  });
  it('refuses a pack that cannot be right', () => {
    const raw = serializePack([{ kind: 'm', checksum: A, bytes: Buffer.from('meta') }]);
    expect(() => parsePack(raw.subarray(0, raw.length - 1))).toThrow(/entry 1 runs past the end/);
    expect(() => parsePack(raw.subarray(0, 20))).toThrow(/entry 1 cut short/);
    const kind = Buffer.from(raw); kind[8] = 'x'.charCodeAt(0);
    expect(() => parsePack(kind)).toThrow(/unknown kind/);
    const magic = Buffer.from(raw); magic[0] = 0;
    expect(() => parsePack(magic)).toThrow(/bad magic/);
  });
});
