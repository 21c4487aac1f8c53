#!/bin/sh
# The guest side of scripts/boot-test.sh: runs once the boot has finished and
# prints what the boot shows, one `HTCHECK key: value` line each, on the serial
# console; then, as the kernel command line says, writes the /var stamp
# (hacktree.stamp=), stages an upgrade from inside the running system
# (hacktree.upgrade=REV), and powers off or reboots (hacktree.test=).
exec >/dev/console 2>&1
say() { echo "HTCHECK $1: $2"; }
arg() { for a in $(cat /proc/cmdline); do case $a in "$1"=*) echo "${a#*=}" ;; esac; done; }
. /run/hacktree/booted
ht() { /usr/local/bin/hacktree --sysroot "$HACKTREE_SYSROOT" "$@"; }
state=$(systemctl is-system-running --wait)
say cmdline "$(cat /proc/cmdline)"
say root "$(findmnt -no FSTYPE,SOURCE /)"
say state "$state"
say failed "$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
say target "$(systemctl is-active multi-user.target) multi-user.target"
say version "$(cat /etc/hacktree-test-version)"
say commit "$HACKTREE_COMMIT"
if touch /usr/hacktree-write-test 2>/tmp/usr-err; then say usr "WRITABLE"; rm -f /usr/hacktree-write-test; else say usr "read-only ($(cat /tmp/usr-err))"; fi
say var-stamp "$(cat /var/lib/boot-test/stamp 2>/dev/null || echo none)"
say booted-unit "$(systemctl is-active hacktree-booted.service)"
stamp=$(arg hacktree.stamp)
if [ -n "$stamp" ]; then
  mkdir -p /var/lib/boot-test
  echo "$stamp" > /var/lib/boot-test/stamp
  sync
  say wrote "$(cat /var/lib/boot-test/stamp)"
  say layer "$(cat "$HACKTREE_SYSROOT/roots/$HACKTREE_ROOT/layer/upper/var/lib/boot-test/stamp" 2>/dev/null || echo 'not in the layer')"
fi
upgrade=$(arg hacktree.upgrade)
if [ -n "$upgrade" ]; then
  # Staged: this system keeps running its commit; the next boot runs the new one.
  ht root upgrade "$HACKTREE_ROOT" "$upgrade" 2>&1 | sed 's/^/HTCHECK upgrade: /'
  say after-upgrade "$(cat /etc/hacktree-test-version)"
  ht root show "$HACKTREE_ROOT" | sed -n 's/^staged/HTCHECK show: staged/p'
  ht status | sed -n "s/^$HACKTREE_ROOT /HTCHECK status: $HACKTREE_ROOT /p"
fi
ht root history "$HACKTREE_ROOT" | sed 's/^/HTCHECK history: /'
say daemon "$(ps -eo pid,stat,args | grep '[@]hacktree')"
say done "$(arg hacktree.test)"
case $(arg hacktree.test) in
  reboot) systemctl reboot ;;
  *) systemctl poweroff ;;
esac
