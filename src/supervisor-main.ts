// A background mount's supervisor: `node supervisor-main.js` with the daemon's arguments
// (daemonArgv in mount-process.ts). A mount waits for it to start its daemon, so it loads
// nothing the daemon does not need it to (no command line framework, no store) before it
// starts it.
import { parseDaemonArgv } from './mount-process.js';
import { superviseMount } from './mount-supervisor.js';

const { req, readyFd } = parseDaemonArgv(process.argv.slice(2));
superviseMount(req, readyFd).catch((e: Error) => {
  process.stderr.write(`hacktree supervisor: ${e.message}\n`);
  process.exit(1);
});
