// A background mount's supervisor: `node supervisor-main.js --first-daemon PID` with the
// daemon's arguments, started beside its first daemon (startSupervised in mount-process.ts).
// A mount waits for it to watch that daemon, so it loads no command line framework and no store.
import { parseDaemonArgv } from './mount-process.js';
import { superviseMount } from './mount-supervisor.js';

const { req, readyFd, firstDaemon } = parseDaemonArgv(process.argv.slice(2));
if (firstDaemon === null) {
  process.stderr.write('hacktree supervisor: no --first-daemon: it is started by startSupervised (mount-process.ts)\n');
  process.exit(2);
}
superviseMount(req, readyFd, firstDaemon).catch((e: Error) => {
  process.stderr.write(`hacktree supervisor: ${e.message}\n`);
  process.exit(1);
});
