// `npm run bench` = node .bench-dist/main.js (built from bench/ by `tsc -p bench`) [--only NAME,...] [--runs N] [--json]
// Runs the selected groups in the order below and prints one line per metric (medians over the
// runs, against a peer measured in the same run on the same tree), then a summary.
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import type { Context, Group } from './group.js';
import type { Check, Metric } from './metrics.js';
import { line, summary, toJson } from './metrics.js';
import { cleanupAll, cleanupOnSignals } from './cleanup.js';
import { cacheDir, removeStaleTemps } from './paths.js';

// A new group is one file exporting `group` plus one line here. Loaded only when selected.
const GROUPS: Array<[string, () => Promise<{ group: Group }>]> = [
  ['commit', () => import('./commit.js')],
  ['mount', () => import('./mount.js')],
  ['overlay', () => import('./overlay.js')],
  ['pull', () => import('./pull.js')],
  ['lazy', () => import('./lazy.js')],
  ['http', () => import('./http.js')],
  ['passthrough', () => import('./passthrough.js')],
];

const USAGE = `usage: node .bench-dist/main.js [--only ${GROUPS.map(([n]) => n).join(',')}] [--runs N] [--json]`;

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      options: { only: { type: 'string' }, runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (opts.help) { process.stdout.write(USAGE + '\n'); return 0; }
  const runs = Number(opts.runs);
  if (!Number.isInteger(runs) || runs < 1) usage(`--runs wants a positive integer, not '${opts.runs}'`);
  const names = opts.only?.split(',').map((n) => n.trim()).filter(Boolean) ?? GROUPS.map(([n]) => n);
  for (const n of names) if (!GROUPS.some(([g]) => g === n)) usage(`no benchmark group '${n}'`);
  if (process.getuid?.() !== 0) process.stderr.write('bench: not root: cold metrics (drop_caches) and FUSE mounts will fail\n');

  // Under --json, stdout carries only the JSON document.
  const human = opts.json ? process.stderr : process.stdout;
  const log = (l: string): void => { human.write(l + '\n'); };
  const metrics: Metric[] = [], checks: Check[] = [], errors: string[] = [];
  cleanupOnSignals();
  removeStaleTemps();
  log(`bench: ${runs} run(s) per metric, medians; ${cpus().length} CPUs; cache ${cacheDir()}`);

  for (const [name, load] of GROUPS.filter(([n]) => names.includes(n))) {
    log(`\n== ${name}`);
    const ctx: Context = {
      runs,
      log,
      report: (m) => { metrics.push(m); log(line(m)); },
      check: (c) => { checks.push({ group: name, ...c }); log(`  ${name}.${c.name}: ${c.ok ? 'OK' : 'MISMATCH'} (${c.detail})`); },
    };
    try {
      await (await load()).group.run(ctx);
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
      log(`${name}: failed: ${(e as Error).message}`);
    } finally {
      cleanupAll(); // a failed group may leave mounts or temp dirs registered
    }
  }

  log('');
  for (const l of summary(metrics, checks, errors)) log(l);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ runs, cpus: cpus().length, metrics: metrics.map(toJson), checks, errors }, null, 2) + '\n');
  }
  return errors.length > 0 || checks.some((c) => !c.ok) ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  cleanupAll();
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
