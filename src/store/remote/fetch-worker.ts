// One fetch worker thread (see fetch-workers.ts): GETs a .filez, inflates it,
// checks its checksum against the one its tree names, and only then writes it
// at the staging path it was given, in the repository's mode. The main thread
// hands the staged object to the transaction, which alone moves it into objects/.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CorruptObjectError, toErrorRecord } from '../../errors.js';
import { hashBuffer } from '../content-hash.js';
import { objectRelPath } from '../layout.js';
import { storageFor } from '../modes/by-mode.js';
import { HttpClient } from './http.js';
import { decodeFilezSync, filezFetchOptions } from './filez.js';
import type { FetchJob, FetchReply, FetchWorkerSetup } from './fetch-workers.js';

const setup = workerData as FetchWorkerSetup;
const http = new HttpClient(setup.url, setup.concurrency);
const storage = storageFor(setup.mode);
const port = parentPort!;

async function run(job: FetchJob): Promise<FetchReply> {
  const whole = await http.get(objectRelPath(job.csum, 'filez'), filezFetchOptions());
  if (!whole) return { id: job.id, stats: { ...http.stats }, staged: null };
  const got = decodeFilezSync(job.csum, whole, setup.label);
  const h = hashBuffer(got.meta, got.data);
  if (h.object !== job.csum) throw new CorruptObjectError(job.csum, 'file', `${setup.label} sent an object with checksum ${h.object} for ${job.path}`);
  // An archive repository keeps a verified .filez in canonical form as it came, instead of deflating it again.
  if (setup.mode === 'archive' && got.raw) fs.writeFileSync(job.stagePath, got.raw, { mode: 0o644 });
  else storage.stage(job.stagePath, got.meta, { kind: 'buffer', data: got.data });
  return { id: job.id, stats: { ...http.stats }, staged: { hashes: h, meta: got.meta, size: got.data.length } };
}

port.on('message', (job: FetchJob) => {
  run(job).then(
    (reply) => port.postMessage(reply),
    (e: unknown) => port.postMessage({ id: job.id, stats: { ...http.stats }, error: toErrorRecord(e) } satisfies FetchReply),
  );
});
