// The entry of a fetch worker thread (see fetch-workers.ts): runs the jobs the
// main thread posts through a ContentFetcher, and answers each with what it
// staged or why it failed.
import { parentPort, workerData } from 'node:worker_threads';
import { toErrorRecord } from '../../errors.js';
import { ContentFetcher, type FetchJob, type FetcherSetup } from './content-fetcher.js';
import type { FetchReply } from './fetch-workers.js';

const fetcher = new ContentFetcher(workerData as FetcherSetup);
const port = parentPort!;

port.on('message', (job: FetchJob) => {
  fetcher.stage(job).then(
    (staged) => port.postMessage({ id: job.id, stats: fetcher.stats, staged } satisfies FetchReply),
    (e: unknown) => port.postMessage({ id: job.id, stats: fetcher.stats, error: toErrorRecord(e) } satisfies FetchReply),
  );
});
