// enter --ephemeral and mount --ephemeral: every path takes writes, into a throwaway layer
// that goes with the mount; dpkg and apt install into /usr of a Debian root there, and the
// root's own layer is as it was afterwards. --keep-layer keeps the layer for layer diff/commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { ht, htAsync, htOk, requireRoot, requireTool, sh } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { debianRoot } from './helpers/debian-root.js';
import { forceUnmount, requireFuse } from './helpers/mounts.js';

const s = scratch('hacktree-ephemeral-test-');
const sys = join(s.dir, 'sys');
const mnt = join(s.dir, 'mnt');
// Where the throwaway layers go (TMPDIR): a test can see that they are gone.
const tmp = join(s.dir, 'tmp');
// Bound into the root as $HOME (--bind-home): the packages and the local repository.
const pk = join(s.dir, 'pk');
const env = { TMPDIR: tmp };
const H = (args: string[]): string => htOk(['--sysroot', sys, ...args], { env: { ...process.env, ...env } });
const throwaways = (): string[] => fs.readdirSync(tmp).filter((n) => n.startsWith('hacktree-ephemeral-'));

/** A package NAME 1.0 with /usr/bin/NAME (which prints "NAME works") and /usr/share/NAME/data. */
function buildDeb(name: string, outDir: string): void {
  const d = join(s.dir, 'build', name);
  fs.mkdirSync(join(d, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(join(d, 'usr', 'bin'), { recursive: true });
  fs.mkdirSync(join(d, 'usr', 'share', name), { recursive: true });
  fs.writeFileSync(join(d, 'DEBIAN', 'control'), `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: hacktree tests <tests@example.org>\nDescription: a hacktree test package\n`);
  fs.writeFileSync(join(d, 'usr', 'bin', name), `#!/bin/sh\necho ${name} works\n`, { mode: 0o755 });
  fs.writeFileSync(join(d, 'usr', 'share', name, 'data'), 'data\n');
  sh('dpkg-deb', ['-Zgzip', '--root-owner-group', '--build', d, join(outDir, `${name}.deb`)]);
}

const rootLayerDiff = (): unknown => JSON.parse(H(['layer', 'diff', 'd', '--json']));
let before: unknown;

beforeAll(async () => {
  requireRoot('mounts with allow_other, enters roots');
  requireFuse();
  requireTool('dpkg-deb', 'dpkg');
  requireTool('dpkg-scanpackages', 'dpkg-dev');
  const deb = await debianRoot();
  fs.mkdirSync(tmp);
  fs.mkdirSync(join(pk, 'repo'), { recursive: true });
  buildDeb('htprobe', pk);
  buildDeb('htrepo', join(pk, 'repo'));
  // A flat repository: `deb [trusted=yes] file:/PATH ./`.
  fs.writeFileSync(join(pk, 'repo', 'Packages'), sh('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: join(pk, 'repo') }));
  // apt reads file: repositories as _apt: let it through the scratch directory.
  fs.chmodSync(s.dir, 0o755);
  H(['init']);
  H(['commit', '-b', 'deb', deb]);
  H(['root', 'create', 'd', 'deb']);
  // Something in the root's own layer, which its throwaway copy must show.
  fs.mkdirSync(mnt);
  H(['root', 'mount', 'd', mnt]);
  fs.writeFileSync(join(mnt, 'var', 'tmp', 'marker'), 'of the root\n');
  H(['root', 'umount', 'd']);
  before = rootLayerDiff();
}, 900_000);

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe('enter --ephemeral', () => {
  it('dpkg -i and apt-get install from a local repository put their files in /usr; the root\'s layer is untouched and the throwaway layer is gone', async () => {
    const script = [
      'set -e',
      'cat /var/tmp/marker',
      `dpkg -i ${pk}/htprobe.deb`,
      'ls -l /usr/bin/htprobe /usr/share/htprobe/data',
      'htprobe',
      `echo "deb [trusted=yes] file:${pk}/repo ./" > /etc/apt/sources.list.d/local.list`,
      // Only the local repository: the test needs no network.
      'apt-get -o Dir::Etc::SourceList=/dev/null update',
      'apt-get install -y htrepo',
      'htrepo',
      'dpkg -s htprobe htrepo | grep ^Status',
      'echo changed > /var/tmp/marker',
      'adduser --disabled-password --gecos "" eve',
      'touch /usr/lib/anything /etc/anything /opt-new',
    ].join('\n');
    const r = await htAsync(['--sysroot', sys, 'enter', '--ephemeral', '--bind-home', 'd', '--', '/bin/sh', '-c', script], { ...env, HOME: pk });
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(0);
    expect(output).toContain('of the root');
    expect(output).toMatch(/htprobe works\n/);
    expect(output).toMatch(/htrepo works\n/);
    expect(output.match(/Status: install ok installed/g)).toHaveLength(2);
    expect(rootLayerDiff()).toEqual(before);
    expect(throwaways()).toEqual([]);
    fs.mkdirSync(mnt, { recursive: true });
    H(['root', 'mount', 'd', mnt]);
    try {
      expect(fs.readFileSync(join(mnt, 'var', 'tmp', 'marker'), 'utf8')).toBe('of the root\n');
      expect(fs.existsSync(join(mnt, 'usr', 'bin', 'htprobe'))).toBe(false);
      expect(fs.readFileSync(join(mnt, 'etc', 'passwd'), 'utf8')).not.toContain('eve:');
    } finally {
      H(['root', 'umount', 'd']);
    }
  }, 600_000);

  it('--keep-layer DIR keeps the layer, which layer diff and layer commit take by its directory', async () => {
    const kept = join(s.dir, 'kept');
    const r = await htAsync(['--sysroot', sys, 'enter', '--ephemeral', '--keep-layer', kept, '--bind-home', 'deb', '--', 'dpkg', '-i', `${pk}/htprobe.deb`], { ...env, HOME: pk });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(throwaways()).toEqual([]);
    const diff = H(['layer', 'diff', kept]);
    expect(diff).toMatch(/^A\s+\/usr\/bin\/htprobe$/m);
    expect(diff).toMatch(/^M\s+\/var\/lib\/dpkg\/status$/m);
    H(['layer', 'commit', kept, '-b', 'deb-probe']);
    expect(H(['cat', 'deb-probe', '/usr/bin/htprobe'])).toBe('#!/bin/sh\necho htprobe works\n');
    expect(H(['cat', 'deb-probe', '/usr/share/htprobe/data'])).toBe('data\n');
    expect(rootLayerDiff()).toEqual(before);
  }, 300_000);

  it('--keep-layer without --ephemeral, and a directory that is no kept layer, are refused in one line', () => {
    const a = ht(['--sysroot', sys, 'enter', '--keep-layer', join(s.dir, 'x'), 'd']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--keep-layer goes with --ephemeral/);
    const b = ht(['--sysroot', sys, 'layer', 'diff', `${s.dir}/`]);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/is not a kept layer/);
  });
});

describe('mount --ephemeral', () => {
  it('every path of the commit takes writes; the layer is gone at umount', () => {
    H(['mount', '--ephemeral', 'deb', mnt]);
    try {
      fs.writeFileSync(join(mnt, 'usr', 'bin', 'made-here'), 'x');
      fs.appendFileSync(join(mnt, 'etc', 'os-release'), 'EXTRA=1\n');
      fs.mkdirSync(join(mnt, 'opt', 'new'), { recursive: true });
      fs.rmSync(join(mnt, 'usr', 'share', 'doc'), { recursive: true });
      expect(fs.readFileSync(join(mnt, 'usr', 'bin', 'made-here'), 'utf8')).toBe('x');
      expect(fs.existsSync(join(mnt, 'usr', 'share', 'doc'))).toBe(false);
      expect(throwaways()).toHaveLength(1);
    } finally {
      H(['umount', mnt]);
    }
    expect(throwaways()).toEqual([]);
    expect(rootLayerDiff()).toEqual(before);
  });
});
