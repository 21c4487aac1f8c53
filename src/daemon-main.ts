// The mount daemon's process: `node daemon-main.js` with the argv daemonArgv (mount-process.ts)
// writes. A mount waits for the daemon to start, so it loads only what serving needs: no
// command line framework (commander) and no command's modules, and the daemon's own only as
// far as the request asks (mount-daemon.ts).
import { commitDaemonHeap, parseDaemonArgv } from './mount-process.js';
import { serveInForeground } from './mount-daemon.js';

const { req, readyFd } = parseDaemonArgv(process.argv.slice(2));
if (!req.layer) commitDaemonHeap();
serveInForeground(req, readyFd).catch((e: Error) => {
  // Told to the parent on the ready fd already; this goes to the mount's log.
  process.stderr.write(`hacktree: ${e.message}\n`);
  process.exit(1);
});
