// The mount daemon's process: `node daemon-main.js` with the argv daemonArgv (mount.ts) writes.
// A mount waits for the daemon to start, so it loads only what serving needs: no command line
// framework (commander) and no command's modules, and the daemon's own only as far as the
// request asks (mount-daemon.ts).
import { parseArgs } from 'node:util';
import { mountCommandRequest } from './mount.js';
import { serveInForeground } from './mount-daemon.js';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'repo': { type: 'string' }, 'ready-fd': { type: 'string' }, 'options': { type: 'string', short: 'o', multiple: true, default: [] },
    'label': { type: 'string' }, 'layer': { type: 'string' }, 'layer-root': { type: 'string' }, 'layer-sysroot': { type: 'string' }, 'layer-discard': { type: 'boolean' },
    'lazy-remote': { type: 'string' }, 'fetch-timeout': { type: 'string', default: '10' },
  },
});
const [commit, mountpoint] = positionals;
const req = mountCommandRequest(o.repo!, commit!, commit!, mountpoint!, o.options, {
  label: o.label, layer: o.layer, layerRoot: o['layer-root'], layerSysroot: o['layer-sysroot'], layerDiscard: o['layer-discard'], lazyRemote: o['lazy-remote'],
  fetchTimeoutMs: Number(o['fetch-timeout']) * 1000,
});
serveInForeground(req, o['ready-fd'] !== undefined ? Number(o['ready-fd']) : null).catch((e: Error) => {
  // Told to the parent on the ready fd already; this goes to the mount's log.
  process.stderr.write(`hacktree: ${e.message}\n`);
  process.exit(1);
});
