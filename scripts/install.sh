#!/usr/bin/env bash
# Installs this built checkout (`npm ci` builds it) into DESTDIR (default /), as a
# package would: the program in /usr/lib/hacktree (bin, dist, scripts, the native
# addon and the production node_modules), /usr/local/bin/hacktree, the mount(8)
# helper, the initramfs-tools hook and boot script, and the unit that confirms a
# boot (enabled). Node.js 20 must be installed in DESTDIR on its own (/usr/bin/node).
# Afterwards, in DESTDIR: update-initramfs -u (the hook copies node and hacktree in).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-/}
[ -f "$src/dist/cli/main.js" ] || { echo "install.sh: $src is not built: run npm ci there" >&2; exit 1; }
ls "$src"/native/build/Release/*.node >/dev/null 2>&1 || { echo "install.sh: the native addon is not built: run npm ci in $src" >&2; exit 1; }
lib=$dest/usr/lib/hacktree
rm -rf "$lib"
mkdir -p "$lib/native/build/Release" "$lib/node_modules" "$dest/usr/local/bin" "$dest/usr/sbin"
cp -a "$src/bin" "$src/dist" "$src/scripts" "$src/package.json" "$lib/"
cp -a "$src"/native/build/Release/*.node "$lib/native/build/Release/"
# What `npm ci --omit=dev` would leave: the production dependencies and theirs.
(cd "$src" && npm ls --omit=dev --all --parseable 2>/dev/null) | while read -r p; do
  case $p in "$src/node_modules/"*) rel=${p#"$src"/}; mkdir -p "$lib/$(dirname "$rel")"; cp -a "$p" "$lib/$rel" ;; esac
done
ln -sfn ../../lib/hacktree/bin/hacktree "$dest/usr/local/bin/hacktree"
ln -sfn ../lib/hacktree/scripts/mount.fuse.hacktree "$dest/usr/sbin/mount.fuse.hacktree"
ird=$dest/usr/share/initramfs-tools
mkdir -p "$ird/hooks" "$ird/scripts/local-bottom"
install -m 0755 "$src/scripts/initramfs-tools/hooks/hacktree" "$ird/hooks/hacktree"
install -m 0755 "$src/scripts/initramfs-tools/scripts/local-bottom/hacktree" "$ird/scripts/local-bottom/hacktree"
units=$dest/usr/lib/systemd/system
mkdir -p "$units" "$dest/etc/systemd/system/multi-user.target.wants"
install -m 0644 "$src/scripts/systemd/hacktree-booted.service" "$units/hacktree-booted.service"
ln -sfn /usr/lib/systemd/system/hacktree-booted.service "$dest/etc/systemd/system/multi-user.target.wants/hacktree-booted.service"
echo "installed hacktree in $lib"
