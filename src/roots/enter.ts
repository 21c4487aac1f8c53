// Running a command inside a root: new mount and PID namespaces, the root's
// mount as /, with /proc, /sys, /dev, /dev/pts and /run of its own. Everything
// mounted for it lives in the private mount namespace and vanishes with it, so
// the host's mount table is as before once the command exits, however it ends.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { HacktreeError } from '../errors.js';

export interface EnterOptions {
  /** The root's mountpoint (mounted already). */
  mountpoint: string;
  cmd: string[];
  /** Bind the caller's $HOME at the same path inside. */
  bindHome?: string;
  /** Collect output instead of passing the terminal through (for checks). */
  capture?: boolean;
}

// pivot_root(".", ".") stacks the old root on top of the new one, and a lazy
// unmount of "." then drops it: no directory for the old root is needed, which a
// read-only root could not provide.
const SETUP = `
set -e
mount --make-rprivate /
cd "$HACKTREE_MNT"
for d in proc sys dev run; do [ -d "$d" ] || { echo "hacktree enter: the root has no /$d directory" >&2; exit 125; }; done
mount -t proc proc proc
mount -t sysfs sysfs sys
mount --rbind /dev dev
mount --make-rslave dev
if [ -d dev/pts ]; then mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts dev/pts 2>/dev/null || true; fi
mount -t tmpfs -o mode=0755 tmpfs run
if [ -n "$HACKTREE_HOME" ]; then
  [ -d ".$HACKTREE_HOME" ] || mkdir -p ".$HACKTREE_HOME" || { echo "hacktree enter: cannot make $HACKTREE_HOME in the root (not writable there)" >&2; exit 125; }
  mount --bind "$HACKTREE_HOME" ".$HACKTREE_HOME"
fi
pivot_root . .
umount -l .
cd /
unset HACKTREE_MNT HACKTREE_HOME
# CMD runs as a child of this shell (PID 1 of the namespace): a signal death then
# comes back as 128+N (unshare itself cannot pass one on), and CMD, not being
# PID 1, keeps the default actions for its signals.
set +e
"$@"
exit $?
`;

/** Runs `cmd` inside the root; resolves with its exit code (128+N when killed by signal N). */
export function enterRoot(o: EnterOptions): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['--mount', '--pid', '--fork', '--kill-child', '/bin/sh', '-c', SETUP, 'hacktree-enter', ...o.cmd], {
      stdio: o.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, HACKTREE_MNT: o.mountpoint, HACKTREE_HOME: o.bindHome ?? '' },
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', (e) => reject(new HacktreeError('MOUNT', `cannot start unshare (util-linux): ${e.message}`)));
    child.on('close', (code, signal) => {
      const sig = signal ? (osConstants.signals as Record<string, number>)[signal] ?? 0 : 0;
      resolve({ code: code ?? 128 + sig, output });
    });
  });
}
