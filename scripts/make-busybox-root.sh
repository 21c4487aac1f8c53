#!/usr/bin/env bash
# Builds a tiny root file system from Debian's busybox-static into DIR:
# /bin/busybox with its applets as symlinks, account files, a setuid copy of busybox.
set -euo pipefail
dir=${1:?usage: make-busybox-root.sh DIR}
bb=$(command -v busybox || true)
[ -n "$bb" ] && file -L "$bb" 2>/dev/null | grep -q 'statically linked' || bb=/bin/busybox
[ -x "$bb" ] || { echo "make-busybox-root.sh: needs busybox-static (apt-get install busybox-static)" >&2; exit 1; }
umask 022
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,tmp,var/tmp,var/log,proc,sys,dev,run}
chmod 1777 "$dir/tmp" "$dir/var/tmp"
chmod 0700 "$dir/root"
cp "$bb" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ "$applet" = busybox ] && continue
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
# A setuid program, so tests can check that the bit survives a commit and a mount.
cp "$bb" "$dir/bin/su-busybox"
chmod 4755 "$dir/bin/su-busybox"
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dir/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
cat > "$dir/etc/shadow" <<'S'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
S
chmod 0640 "$dir/etc/shadow"
echo busybox > "$dir/etc/hostname"
printf 'NAME=busybox-root\nID=busybox\n' > "$dir/etc/os-release"
