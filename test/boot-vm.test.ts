// The whole boot in a virtual machine: scripts/boot-test.sh (the README's boot recipe),
// run only when asked, as it takes tens of minutes without KVM. The namespace-level boot
// and boot-counting tests (test/upgrade.test.ts) run in every suite.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

const asked = process.env.HACKTREE_VM_TEST === '1';
const title = asked
  ? 'boot in a virtual machine (scripts/boot-test.sh)'
  : 'boot in a virtual machine (scripts/boot-test.sh): NOT RUN, set HACKTREE_VM_TEST=1 to run it (tens of minutes)';

// Said where the default reporter shows it, not only in the skipped test's name.
if (!asked) console.log(`${title}`);

describe(title, () => {
  it.runIf(asked)('boots, keeps /var across reboots, upgrades, and falls back from commits that do not boot', async () => {
    const r = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const p = spawn(join(ROOT, 'scripts', 'boot-test.sh'), [], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      p.stdout.on('data', (d) => { output += d; process.stdout.write(d); });
      p.stderr.on('data', (d) => { output += d; process.stderr.write(d); });
      p.on('close', (code) => resolve({ code, output }));
    });
    expect(r.output).toContain('boot test passed');
    expect(r.code).toBe(0);
  }, 4 * 3600_000);
});
