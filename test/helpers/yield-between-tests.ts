// A turn of the event loop before every test. Most tests spawn hacktree synchronously, and
// vitest's runner goes from one test to the next without one: a worker running a file's tests
// back to back never read vitest's messages, and its RPC timed out after 60 s ("Timeout
// calling onTaskUpdate"), failing a run whose tests all passed.
import { beforeEach } from 'vitest';

beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
