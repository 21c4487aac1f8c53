// `summary -u`: what a publisher runs before serving the repository over HTTP.
// Writes ostree's `summary` (refs → commit, so `ostree pull` finds them) and,
// for each branch's commit (and its ancestors held here), the content map that
// lets a hacktree puller rebuild objects instead of downloading them.
import { commitPartialPath } from '../layout.js';
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import type { Checksum } from '../checksum.js';
import type { Repo } from '../repo.js';
import { serialize, type GValue } from '../gvariant.js';
import { checksumToBytes } from '../checksum.js';
import { be64 } from '../objects/file-header.js';
import { isReg } from '../objects/types.js';
import { listRefs } from '../refs.js';
import { atomicWriteFileSync } from '../durable.js';
import { hashBuffer } from '../content-hash.js';
import { contentMapPath, serializeContentMap, type ContentMap } from '../content-map.js';
import { modeToConfig } from '../config.js';

export const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';

export interface SummaryResult { refs: number; mapsWritten: number }

export async function updateSummary(repo: Repo): Promise<SummaryResult> {
  const heads = listRefs(repo.path).filter((r) => r.ref.remote === null);
  const lock = repo.lock();
  try {
    let mapsWritten = 0;
    for (const { checksum } of heads) {
      for (let c: Checksum | null = checksum; c && repo.hasObject(c, 'commit'); c = (await repo.loadCommit(c)).parent) {
        if (fs.existsSync(contentMapPath(repo.path, c))) continue;
        if (fs.existsSync(commitPartialPath(repo.path, c))) continue;
        const map = await buildContentMap(repo, c);
        const path = contentMapPath(repo.path, c);
        fs.mkdirSync(dirname(path), { recursive: true });
        atomicWriteFileSync(path, serializeContentMap(map), repo.durable);
        mapsWritten++;
      }
    }
    const refs: GValue[] = [];
    for (const { ref, checksum } of heads) {
      const size = fs.statSync(repo.objectPath(checksum, 'commit')).size;
      const c = await repo.loadCommit(checksum);
      // As ostree writes it: the commit size in the framing's byte order, the timestamp big-endian.
      refs.push([ref.name, [BigInt(size), checksumToBytes(checksum), [['ostree.commit.timestamp', { type: 't', value: be64(BigInt(c.timestamp)) }]]]]);
    }
    refs.sort((a, b) => Buffer.compare(Buffer.from((a as GValue[])[0] as string), Buffer.from((b as GValue[])[0] as string)));
    const meta: GValue[] = [
      ['ostree.summary.mode', { type: 's', value: modeToConfig(repo.mode) }],
      ['ostree.summary.last-modified', { type: 't', value: be64(BigInt(Math.floor(Date.now() / 1000))) }],
      ['ostree.summary.tombstone-commits', { type: 'b', value: false }],
      ['ostree.summary.indexed-deltas', { type: 'b', value: true }],
    ];
    atomicWriteFileSync(join(repo.path, 'summary'), serialize(SUMMARY_TYPE, [refs, meta]), repo.durable);
    // A signature of an older summary would no longer match it.
    fs.rmSync(join(repo.path, 'summary.sig'), { force: true });
    return { refs: heads.length, mapsWritten };
  } finally {
    lock.release();
  }
}

/** Every regular-file object of a commit → its content sha256 and metadata; from the index where it knows them. */
export async function buildContentMap(repo: Repo, commit: Checksum): Promise<ContentMap> {
  const map: ContentMap = new Map();
  const seenTrees = new Set<Checksum>();
  const seenFiles = new Set<Checksum>();
  const index = repo.index;
  const walk = async (tree: Checksum): Promise<void> => {
    if (seenTrees.has(tree)) return;
    seenTrees.add(tree);
    const t = await repo.loadDirTree(tree);
    for (const f of t.files) {
      if (seenFiles.has(f.checksum)) continue;
      seenFiles.add(f.checksum);
      const row = index.byObject(f.checksum);
      if (row) { map.set(f.checksum, { sha256: row.sha256, meta: row.meta }); continue; }
      const info = await repo.loadFileMeta(f.checksum);
      if (!isReg(info.meta.mode)) continue;
      const { meta, content } = await repo.readContent(f.checksum);
      map.set(f.checksum, { sha256: hashBuffer(meta, content).sha256, meta });
    }
    for (const d of t.dirs) await walk(d.tree);
  };
  await walk((await repo.loadCommit(commit)).rootTree);
  return map;
}
