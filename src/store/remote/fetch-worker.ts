// The entry of a fetch worker thread (see fetch-workers.ts): runs the jobs the
// main thread posts (in batches) through a ContentFetcher, and answers each with
// what it staged or why it failed.
import { parentPort, workerData } from 'node:worker_threads';
import { toErrorRecord } from '../../errors.js';
import { ContentFetcher, type FetchJob, type FetcherSetup } from './content-fetcher.js';
import type { FetchReply } from './fetch-workers.js';

const fetcher = new ContentFetcher(workerData as FetcherSetup);
const port = parentPort!;

// Replies go back in batches, once per turn of this thread's event loop: each message
// wakes the main thread, and one per object was a visible cost.
let replies: FetchReply[] = [];
const flush = (): void => {
  const batch = replies;
  replies = [];
  port.postMessage(batch);
};
const reply = (r: FetchReply): void => {
  if (replies.push(r) === 1) setImmediate(flush);
};

port.on('message', (jobs: FetchJob[]) => {
  for (const job of jobs) {
    fetcher.stage(job).then(
      (staged) => reply({ id: job.id, stats: fetcher.stats, staged }),
      (e: unknown) => reply({ id: job.id, stats: fetcher.stats, error: toErrorRecord(e) }),
    );
  }
});
