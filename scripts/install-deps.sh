#!/usr/bin/env bash
# Installs what hacktree, its tests and its benchmarks need on Debian (as root),
# then the npm dependencies (which builds dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then echo "install-deps.sh: run as root (apt-get install)" >&2; exit 1; fi
apt-get update -qq
# libfuse3-dev/pkg-config/build tools: the FUSE addon (native/) is built by npm ci against the system libfuse 3
# (pkg-config fuse3). fuse3: fusermount3 (and fusermount). ostree: the oracle. busybox-static, debootstrap: test roots.
# squashfuse, squashfs-tools, fuse-overlayfs, nginx-light: benchmark peers (nginx also serves pull tests).
# attr, rsync, procps, file: tools the tests call. systemd-container (systemd-nspawn), bubblewrap: the
# container tools a root's mount is tested with; dpkg-dev: dpkg-scanpackages for the local apt repository.
# (scripts/boot-test.sh, run by hand, installs qemu-system-x86 itself.)
apt-get install -y -qq --no-install-recommends \
  libfuse3-dev fuse3 pkg-config build-essential python3 \
  ostree busybox-static debootstrap squashfuse squashfs-tools fuse-overlayfs nginx-light \
  attr rsync util-linux coreutils procps file ca-certificates \
  systemd-container bubblewrap dpkg-dev >/dev/null
command -v node >/dev/null || { echo "install-deps.sh: Node.js 20 is required" >&2; exit 1; }
npm ci --no-audit --no-fund
