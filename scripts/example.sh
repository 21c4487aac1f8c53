#!/usr/bin/env bash
# The main job on a built-in example: build a busybox root, commit it, mount the
# commit, and run a shell command inside it. Run as root from a checkout after
# scripts/install-deps.sh. Leaves nothing mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/hacktree-example.XXXXXX)
ht() { bin/hacktree --sysroot "$work/sysroot" "$@"; }
cleanup() {
  if [ -n "${mnt:-}" ] && mountpoint -q "$mnt" 2>/dev/null; then ht umount "$mnt" || fusermount -uz "$mnt" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "build a busybox root"
scripts/make-busybox-root.sh "$work/root"
step "init a repository and commit the root"
ht init
commit=$(ht commit -b example/os -s "busybox root" "$work/root")
echo "commit $commit"
ht log example/os
step "the commit, as ostree sees it"
ostree --repo="$work/sysroot/repo" ls example/os /bin | head -5
ostree --repo="$work/sysroot/repo" fsck | tail -1
mnt="$work/mnt"; mkdir -p "$mnt"
step "mount the commit and enter it"
ht mount example/os "$mnt"
chroot "$mnt" /bin/sh -c 'echo "inside $(cat /etc/hostname): $(ls /bin | wc -l) programs"; id'
ht umount "$mnt"
step "done"
