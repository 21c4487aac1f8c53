// The ways people enter a root, on a root's mount: plain chroot (with /dev bound, as every
// chroot recipe does), systemd-nspawn -D, bwrap --bind MOUNT /, and hacktree enter. In each,
// the account tools, git, a C compiler, sqlite in WAL mode and python's venv work in the
// writable paths of a debootstrap root, and /usr still refuses writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { HACKTREE, htAsync, htOk, requireRoot, requireTool } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { debianRoot } from './helpers/debian-root.js';
import { forceUnmount, requireFuse } from './helpers/mounts.js';

// gcc and libc6-dev come into the root with debootstrap: the cheapest real compiler. The
// host's, bound in, would link against the host's libc and headers, not the root's.
const TOOLS = ['git', 'gcc', 'libc6-dev', 'python3-venv', 'sqlite3'];

const s = scratch('hacktree-container-tools-');
const sys = join(s.dir, 'sys');
const mnt = join(s.dir, 'mnt');

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 128, out }));
  });
}

/** How each way runs `script` with /bin/sh inside the mounted root. */
const WAYS: Record<string, (script: string) => [string, string[]]> = {
  // A chroot gets /dev (and /proc) from its caller; the root's mount has no device nodes,
  // as OSTree stores none. Bound in a mount namespace of its own: the host's table stays as it was.
  chroot: (script) => ['unshare', ['--mount', 'sh', '-c', 'set -e; mount --make-rprivate /; mount --rbind /dev "$0/dev"; mount -t proc proc "$0/proc"; exec chroot "$0" /bin/sh -c "$1"', mnt, script]],
  // nspawn wants a tmpfs /run on the host and, with no systemd as init, neither machined
  // (--register=no) nor a scope unit (--keep-unit): a systemd host needs none of this.
  // --pipe: without a terminal nspawn would still give the container a pty (git's pager waits on it).
  nspawn: (script) => ['unshare', ['--mount', 'sh', '-c', 'set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /run; exec systemd-nspawn -q --pipe --register=no --keep-unit -D "$0" /bin/sh -c "$1"', mnt, script]],
  bwrap: (script) => ['bwrap', ['--bind', mnt, '/', '--dev', '/dev', '--proc', '/proc', '/bin/sh', '-c', script]],
  enter: (script) => [HACKTREE, ['--sysroot', sys, 'enter', 't', '--', '/bin/sh', '-c', script]],
};

/** Each tool's check, run in WORK (a writable path, one per way); NAME tells the ways' accounts apart. */
const CHECKS: Array<[string, string, RegExp]> = [
  ['adduser', `adduser --disabled-password --gecos '' a$NAME && id a$NAME && test -f /home/a$NAME/.profile`, /uid=\d+\(a\w+\)/],
  ['useradd', 'useradd -m -s /bin/sh u$NAME && id u$NAME && test -d /home/u$NAME', /uid=\d+\(u\w+\)/],
  ['passwd', `printf 'pw1\\npw1\\n' | passwd u$NAME && passwd -S u$NAME`, /^u\w+ P /m],
  ['git', 'git init -q repo && cd repo && git config user.email t@example.org && git config user.name t && echo x > f && git add f && git commit -qm first && git gc -q && git --no-pager log --format=%s', /^first$/m],
  ['cc', `printf '#include <stdio.h>\\nint main(void) { puts("hello from C"); return 0; }\\n' > h.c && cc -O2 -o h h.c && ./h`, /^hello from C$/m],
  ['sqlite WAL', `python3 -c '
import sqlite3
a = sqlite3.connect("db.sqlite"); assert a.execute("pragma journal_mode=wal").fetchone()[0] == "wal"
a.execute("create table t (x)"); a.execute("insert into t values (1)"); a.commit()
b = sqlite3.connect("db.sqlite"); assert b.execute("select count(*) from t").fetchone()[0] == 1
a.execute("insert into t values (2)"); a.commit(); assert b.execute("select count(*) from t").fetchone()[0] == 2
import os; assert os.path.getsize("db.sqlite-wal") > 0 and os.path.getsize("db.sqlite-shm") > 0
' && sqlite3 db.sqlite 'pragma journal_mode; select sum(x) from t;'`, /^wal\n3$/m],
  ['venv', 'python3 -m venv venv && venv/bin/python -c "import sys; print(sys.prefix != sys.base_prefix)" && venv/bin/pip --version', /^True\npip /m],
  ['/usr gives EROFS', 'touch /usr/bin/x || true; mkdir /usr/lib/y || true; (echo z >> /usr/share/z) || true; test ! -e /usr/bin/x && test ! -e /usr/lib/y', /^(?=(?:[\s\S]*Read-only file system){3})/],
];

beforeAll(async () => {
  requireRoot('mounts with allow_other, chroots and namespaces');
  requireFuse();
  for (const [t, pkg] of [['chroot', 'coreutils'], ['unshare', 'util-linux'], ['systemd-nspawn', 'systemd-container'], ['bwrap', 'bubblewrap']]) requireTool(t!, pkg!);
  const deb = await debianRoot(TOOLS);
  htOk(['--sysroot', sys, 'init']);
  const c = await htAsync(['--sysroot', sys, 'commit', '-b', 'tools', deb]);
  if (c.code !== 0) throw new Error(`commit of the test root failed: ${c.stderr}`);
  htOk(['--sysroot', sys, 'root', 'create', 't', 'tools']);
  fs.mkdirSync(mnt);
  htOk(['--sysroot', sys, 'root', 'mount', 't', mnt]);
}, 1_800_000);

afterAll(() => {
  forceUnmount(mnt);
  s.cleanup();
});

describe.each(Object.keys(WAYS))('entered with %s', (way) => {
  it.each(CHECKS)('%s', async (_tool, check, expected) => {
    const script = `set -e; NAME=${way}; mkdir -p /var/tmp/w-${way}; cd /var/tmp/w-${way}\n${check}`;
    const [cmd, args] = WAYS[way]!(script);
    const r = await run(cmd, args);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(expected);
  }, 600_000);
});
