#!/usr/bin/env bash
# The whole story end to end: a busybox root committed as v1, a root made of it,
# a user added inside it, v2 with a new system user and program, upgrade (both
# users there), v3 whose post-upgrade check fails (automatic rollback), rollback
# and upgrade by hand, layer commit, umount. Prints each step; stops non-zero at
# the first failure. Run as root from a checkout after scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/hacktree-mount-test.XXXXXX)
ht() { bin/hacktree --sysroot "$work/sysroot" "$@"; }
n=0
step() { n=$((n + 1)); printf '\n== %d. %s\n' "$n" "$*"; }
fail() { printf 'FAILED at step %d: %s\n' "$n" "$*" >&2; exit 1; }
cleanup() {
  for m in $(awk '$3 == "fuse.hacktree" {print $2}' /proc/mounts | grep -F "$work" || true); do bin/hacktree umount "$m" 2>/dev/null || fusermount -uz "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step "build a busybox root (v1)"
scripts/make-busybox-root.sh "$work/v1"
step "commit v1"
ht init
v1=$(ht commit -b os/main -s "v1: busybox" "$work/v1")
echo "v1 = $v1"
step "create root 'box' on os/main"
ht root create box os/main
step "enter the root and add user alice (append to the account files, passwd -d)"
ht enter box -- /bin/sh -c '
  echo "alice:x:1000:1000:Alice:/home/alice:/bin/sh" >> /etc/passwd
  echo "alice:x:1000:" >> /etc/group
  echo "alice:!:19000:0:99999:7:::" >> /etc/shadow
  passwd -d alice
  mkdir -p /home/alice && chown 1000:1000 /home/alice'
ht layer diff box
step "commit v2: a new system user and a new program"
cp -a "$work/v1" "$work/v2"
echo "netd:x:998:998:network daemon:/nonexistent:/bin/false" >> "$work/v2/etc/passwd"
echo "netd:x:998:" >> "$work/v2/etc/group"
echo "netd:*:19000:0:99999:7:::" >> "$work/v2/etc/shadow"
printf '#!/bin/sh\necho "hello from v2"\n' > "$work/v2/bin/hello-v2"
chmod 0755 "$work/v2/bin/hello-v2"
v2=$(ht commit -b os/main -s "v2: netd and hello-v2" "$work/v2")
echo "v2 = $v2"
step "upgrade box to v2"
ht root upgrade box os/main
step "both users are present, and the new program runs"
out=$(ht enter box -- /bin/sh -c 'grep -c -e "^alice:" -e "^netd:" /etc/passwd; hello-v2')
echo "$out"
[ "$(echo "$out" | head -1)" = 2 ] || fail "expected alice and netd in /etc/passwd"
echo "$out" | grep -q "hello from v2" || fail "hello-v2 did not run"
step "commit v3 whose post-upgrade check fails"
cp -a "$work/v2" "$work/v3"
mkdir -p "$work/v3/usr/lib/hacktree"
printf '#!/bin/sh\necho "v3 check: /etc/required.conf missing"\nexit 1\n' > "$work/v3/usr/lib/hacktree/post-upgrade"
chmod 0755 "$work/v3/usr/lib/hacktree/post-upgrade"
v3=$(ht commit -b os/main -s "v3: broken" "$work/v3")
echo "v3 = $v3"
step "upgrade box to v3: the check fails and the root rolls back by itself"
if ht root upgrade box os/main; then fail "the upgrade to v3 should have failed"; fi
[ "$(ht root show --json box | sed -n 's/^  "commit": "\(.*\)",$/\1/p')" = "$v2" ] || fail "box is not back on v2"
ht root history box
step "roll back by hand to v1, then upgrade by hand to v2 again"
ht root rollback box
[ "$(ht root show --json box | sed -n 's/^  "commit": "\(.*\)",$/\1/p')" = "$v1" ] || fail "box is not on v1 after rollback"
ht root upgrade box "$v2"
[ "$(ht root show --json box | sed -n 's/^  "commit": "\(.*\)",$/\1/p')" = "$v2" ] || fail "box is not on v2 after the upgrade"
ht enter box -- grep -q '^alice:' /etc/passwd || fail "alice is gone"
step "layer commit: the root's tree as a new commit"
ht root mount box
c=$(ht layer commit box -b os/box -s "box with alice")
echo "layer commit = $c"
ostree --repo="$work/sysroot/repo" fsck | tail -1
ht cat os/box /etc/passwd | grep -q '^alice:' || fail "alice missing from the layer commit"
step "umount"
ht root umount box
[ -z "$(awk '$3 == "fuse.hacktree" {print $2}' /proc/mounts | grep -F "$work" || true)" ] || fail "a mount is left behind"
printf '\nmount-test: all %d steps passed\n' "$n"
