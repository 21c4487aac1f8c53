#!/usr/bin/env bash
# The README's boot recipe, done in a virtual machine: a Debian bookworm root
# (debootstrap: systemd-sysv, linux-image-amd64, initramfs-tools, busybox, fuse3)
# with hacktree installed in it (scripts/install.sh, node copied in as the nodejs
# package installs it) and its initramfs built there by hacktree's hook, committed
# into a repository on a disk image, booted with qemu-system-x86_64 (TCG: no KVM
# needed) as root NAME. Five boots, each ended by the guest itself (test/vm/boot-check.sh
# prints HTCHECK lines on the serial console, then powers off or reboots); every
# upgrade is run inside the booted system, which stages it for the next boot:
#   1 the boot: kernel command line, / on fuse.hacktree, multi-user.target, /usr
#     read-only, a file written to /var landing in the root's layer; `root upgrade`
#     to v2 is staged while v1 keeps running; poweroff
#   2 the staged upgrade is carried out: the new commit runs, its boot is confirmed
#     (hacktree-booted.service), the /var file is still there; an upgrade to a
#     commit whose required unit fails is staged
#   3 that commit: boot-complete.target fails, the boot is not confirmed; the guest reboots
#   4 the boot falls back by itself to the commit before; `root history` says why;
#     an upgrade to a commit without /sbin/init is staged
#   5 the boot of that commit falls back in the same boot
#     (HACKTREE_BOOT_NOINIT=0 leaves out 5 and the upgrade before it)
# and then, on the host, the disk is checked: e2fsck clean, the layer's database
# intact, the /var file in the layer.
# Everything it builds lives in $HACKTREE_BOOT_DIR (default /var/tmp/hacktree-boot);
# the debootstrap root is kept there between runs. Prints each boot's serial-console
# excerpts and the time each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=${HACKTREE_BOOT_DIR:-/var/tmp/hacktree-boot}
boot_timeout=${HACKTREE_BOOT_TIMEOUT:-2400}
name=os
start=$(date +%s)
step() { echo "== $(date -u +%H:%M:%S) (+$(( $(date +%s) - start ))s) $*"; }
fail() { echo "boot-test: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot, loop mounts)"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -f dist/cli/main.js ] && ls native/build/Release/*.node >/dev/null 2>&1 || fail "hacktree is not built here: run npm ci"
node=$(command -v node) || fail "node is not installed"

mkdir -p "$work"
base=$work/bookworm-base
os=$work/os
disk=$work/disk.img
dmnt=$work/disk
ht() { "$src/bin/hacktree" --sysroot "$dmnt/var/lib/hacktree" "$@"; }

cleanup() {
  for m in "$os/dev" "$os/proc" "$os/sys" "$dmnt"; do mountpoint -q "$m" && umount "$m"; done
  return 0
}
trap cleanup EXIT

# 1. The Debian root, built once and kept.
packages=systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,busybox,fuse3,libfuse3-3,procps
if [ "$(cat "$base.packages" 2>/dev/null)" != "$packages" ] || ! [ -f "$base/etc/debian_version" ]; then
  step "debootstrap bookworm ($packages)"
  rm -rf "$base" "$base.building"
  debootstrap --variant=minbase --include="$packages" bookworm "$base.building" > "$work/debootstrap.log" 2>&1 \
    || fail "debootstrap failed (see $work/debootstrap.log)"
  mv "$base.building" "$base"
  echo "$packages" > "$base.packages"
fi

# 2. The OS as a machine would run it: hacktree installed, the initramfs built by its hook.
step "preparing the OS root in $os"
rm -rf "$os"
cp -a "$base" "$os"
echo hacktree-vm > "$os/etc/hostname"
mkdir -p "$os/sysroot"
# OSTree stores no device nodes: the booted system gets /dev from devtmpfs.
find "$os/dev" -mindepth 1 \( -type b -o -type c -o -type p -o -type s \) -delete
install -m 0755 "$node" "$os/usr/bin/node"
scripts/install.sh "$os" >/dev/null
install -m 0755 test/vm/boot-check.sh "$os/usr/local/sbin/hacktree-boot-check"
install -m 0644 test/vm/boot-check.service "$os/etc/systemd/system/hacktree-boot-check.service"
ln -sfn ../hacktree-boot-check.service "$os/etc/systemd/system/multi-user.target.wants/hacktree-boot-check.service"
echo v1 > "$os/etc/hacktree-test-version"
# A small initramfs: the drivers this machine needs, not MODULES=most.
cat > "$os/etc/initramfs-tools/conf.d/hacktree-vm" <<'EOF'
MODULES=list
BUSYBOX=y
EOF
printf '%s\n' virtio_pci virtio_blk ext4 fuse >> "$os/etc/initramfs-tools/modules"
for d in dev proc sys; do mount --bind "/$d" "$os/$d"; done
chroot "$os" update-initramfs -c -k all > "$work/update-initramfs.log" 2>&1 || { cat "$work/update-initramfs.log" >&2; fail "update-initramfs failed"; }
for d in dev proc sys; do umount "$os/$d"; done
kernel=$(ls "$os"/boot/vmlinuz-* | tail -1)
initrd=$(ls "$os"/boot/initrd.img-* | tail -1)
cp "$kernel" "$work/vmlinuz"
cp "$initrd" "$work/initrd.img"
echo "kernel $(basename "$kernel"), initramfs $(du -h "$work/initrd.img" | cut -f1)"
rm -f "$os"/boot/initrd.img-* # the machine boots the copy beside the disk, as a boot loader would
find "$os/dev" -mindepth 1 \( -type b -o -type c -o -type p -o -type s \) -delete

# 3. The disk: SYSROOT with the repository, the commits and root NAME.
step "committing the OS into a repository on $disk"
rm -f "$disk"
truncate -s 8G "$disk"
mkfs.ext4 -q -F -L hacktree "$disk"
mkdir -p "$dmnt"
mount -o loop "$disk" "$dmnt"
ht init >/dev/null
v1=$(ht commit -b os/v1 -s "bookworm v1" "$os")
# Variants share v1's files: hard-linked copies, each changed by new files only.
variant() {
  local v=$1; shift
  rm -rf "$work/$v"
  cp -al "$os" "$work/$v"
  rm -f "$work/$v/etc/hacktree-test-version"
  echo "$v" > "$work/$v/etc/hacktree-test-version"
  "$@" "$work/$v"
  ht commit -b "os/$v" -s "bookworm $v" "$work/$v"
  rm -rf "${work:?}/$v"
}
nothing() { :; }
failing_unit() {
  # A unit the boot needs (RequiredBy=boot-complete.target, as systemd's boot assessment has it) that fails.
  cat > "$1/etc/systemd/system/required-check.service" <<'EOF'
[Unit]
Description=A check this boot needs, which fails
Before=boot-complete.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "required-check: failing on purpose"; exit 1'
[Install]
RequiredBy=boot-complete.target
EOF
  mkdir -p "$1/etc/systemd/system/boot-complete.target.requires"
  ln -s ../required-check.service "$1/etc/systemd/system/boot-complete.target.requires/required-check.service"
}
no_init() { rm -f "$1/sbin/init"; }
v2=$(variant v2 nothing)
broken=$(variant broken failing_unit)
noinit=$(variant noinit no_init)
ht root create "$name" os/v1
echo "commits: v1 $v1, v2 $v2, broken $broken, noinit $noinit"
umount "$dmnt"

# 4. The boots.
boots=0
vm() { # ACTION [EXTRA CMDLINE]: boots once; the guest ends the run itself
  boots=$((boots + 1))
  local log=$work/serial-$boots.log mon=$work/monitor.sock t0 pid hung=
  t0=$(date +%s)
  step "boot $boots (hacktree.test=$1) -> $log"
  rm -f "$mon"
  qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
    -nodefaults -display none -serial "file:$log" -monitor "unix:$mon,server,nowait" -no-reboot \
    -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 panic=30 sysrq_always_enabled=1 hacktree.root=$name hacktree.test=$1 ${2:-}" \
    -drive "file=$disk,format=raw,if=virtio" &
  pid=$!
  # A shutdown that stops making progress is shown (the kernel's list of tasks, sysrq t) and ended.
  local killed_at=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 10
    local now; now=$(date +%s)
    if [ $((now - t0)) -gt "$boot_timeout" ]; then hung="timed out after ${boot_timeout}s"; break; fi
    if [ "$killed_at" = 0 ] && grep -aq 'Sending SIGKILL to remaining processes' "$log"; then killed_at=$now; fi
    if [ "$killed_at" != 0 ] && [ $((now - killed_at)) -gt 150 ]; then
      hung="the shutdown stopped after 'Sending SIGKILL to remaining processes'"
      python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"sendkey alt-sysrq-t\n"); time.sleep(1)' "$mon" || true
      sleep 60
      break
    fi
  done
  if [ -n "$hung" ]; then kill "$pid" 2>/dev/null || true; problems+=("boot $boots: $hung"); fi
  wait "$pid" 2>/dev/null || true
  echo "boot $boots took $(( $(date +%s) - t0 ))s${hung:+ ($hung)}"
  tr -d '\r' < "$log" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -aE 'Kernel command line|hacktree|root [A-Za-z0-9._-]+: (booting|boot of|staged upgrade|the upgrade to)|Reached target (Multi-User|Graphical)|login:|HTCHECK|required-check|Power down|Restarting system|excluded from killing|remaining processes|Unmounting|Remounting|[Uu]nmount|Failed|D \(|blocked' || true
}
problems=()
expect() { # BOOT PATTERN WHAT: noted, so that one run shows every point
  # Not `tr | grep -q`: with pipefail, grep leaving at the first match fails the pipe (SIGPIPE).
  grep -aE -- "$2" "$work/serial-$1.log" >/dev/null || problems+=("boot $1: the serial console does not show $3 (/$2/; see $work/serial-$1.log)")
}

# Each upgrade runs inside the booted system (hacktree.upgrade=REV: `root upgrade` there).
staged() { # BOOT FROM TO: the upgrade staged, the running system still on FROM
  expect "$1" "HTCHECK upgrade: root $name: ${2:0:12} -> ${3:0:12} staged: the running system \(/\) keeps serving ${2:0:12}; the next boot runs ${3:0:12}" "the upgrade to ${3:0:12} staged inside the running system"
  expect "$1" "HTCHECK show: staged $3 " "root show naming the staged commit"
  expect "$1" "HTCHECK status: $name +${2:0:12} .*${3:0:12} \(staged\)" "status naming the staged commit"
  expect "$1" "HTCHECK history: .* staged +${3:0:12} " "root history naming the staged commit"
}
carried() { # BOOT FROM TO: the next boot carried the staged upgrade out
  expect "$1" "root $name: staged upgrade ${2:0:12} -> ${3:0:12} carried out" "the staged upgrade carried out by the boot"
}
noinit_too=${HACKTREE_BOOT_NOINIT:-1}

stamp=stamp-$RANDOM$RANDOM
vm poweroff "hacktree.stamp=$stamp hacktree.upgrade=os/v2"
expect 1 "Kernel command line: .*hacktree.root=$name" "the kernel command line"
expect 1 "HTCHECK root: fuse.hacktree " "/ on fuse.hacktree"
expect 1 "HTCHECK target: active multi-user.target" "multi-user.target reached"
expect 1 "HTCHECK usr: read-only" "/usr read-only"
expect 1 "HTCHECK layer: $stamp" "the /var file in the root's layer"
expect 1 "HTCHECK version: v1" "commit v1 running"
staged 1 "$v1" "$v2"
expect 1 "HTCHECK after-upgrade: v1" "v1 still running after the upgrade"
expect 1 "reboot: Power down" "a clean power off"

vm poweroff "hacktree.upgrade=os/broken"
carried 2 "$v1" "$v2"
expect 2 "HTCHECK var-stamp: $stamp" "the /var file after the reboot (and the upgrade)"
expect 2 "HTCHECK version: v2" "the upgraded commit running"
expect 2 "HTCHECK booted-unit: active" "the boot confirmed"
staged 2 "$v2" "$broken"
expect 2 "reboot: Power down" "a clean power off"

vm reboot
carried 3 "$v2" "$broken"
expect 3 "HTCHECK version: broken" "the broken commit tried"
expect 3 "HTCHECK failed: .*required-check.service" "the required unit failing"
expect 3 "HTCHECK booted-unit: inactive" "the boot left unconfirmed"
expect 3 "reboot: Restarting system" "the guest rebooting"

# A commit without /sbin/init falls back in the same boot; HACKTREE_BOOT_NOINIT=0 leaves it out (one boot less).
if [ "$noinit_too" = 1 ]; then vm poweroff "hacktree.upgrade=os/noinit"; else vm poweroff; fi
expect 4 "not confirmed after 1 try; falling back to ${v2:0:12}" "the fallback"
expect 4 "HTCHECK version: v2" "the previous commit running again"
expect 4 "HTCHECK history: .*automatic rollback.*not confirmed after 1 try" "the failure in root history"

if [ "$noinit_too" = 1 ]; then
  staged 4 "$v2" "$noinit"
  vm poweroff
  carried 5 "$v2" "$noinit"
  expect 5 "failed: no executable /sbin/init; falling back to ${v2:0:12}" "the fallback from a commit without init"
  expect 5 "HTCHECK version: v2" "the previous commit running"
  expect 5 "HTCHECK history: .*automatic rollback.*no executable /sbin/init" "that failure in root history"
  expect 5 "reboot: Power down" "a clean power off"
fi

# 5. The layer after the boots, seen from the host.
step "checking the disk and the layer"
e2fsck -fn "$disk" >/dev/null 2>&1 || true # replays nothing (read-only): the journal is replayed by the mount below
mount -o loop "$disk" "$dmnt"
ht root history "$name"
layer=$dmnt/var/lib/hacktree/roots/$name/layer
echo "layer /var file: $(cat "$layer/upper/var/lib/boot-test/stamp")"
[ "$(cat "$layer/upper/var/lib/boot-test/stamp")" = "$stamp" ] || fail "the layer lost the /var file"
integrity=$(cd "$src" && node -e 'const D=require("better-sqlite3"); const db=new D(process.argv[1],{readonly:true}); console.log(db.pragma("integrity_check",{simple:true}))' "$layer/layer.db")
echo "layer.db integrity_check: $integrity"
[ "$integrity" = ok ] || fail "the layer's database is damaged: $integrity"
umount "$dmnt"
e2fsck -fn "$disk" > "$work/e2fsck.log" 2>&1 || { cat "$work/e2fsck.log" >&2; fail "e2fsck found errors on the disk"; }
echo "e2fsck: $(tail -1 "$work/e2fsck.log")"
if [ ${#problems[@]} -gt 0 ]; then
  printf 'boot-test: %s\n' "${problems[@]}" >&2
  fail "${#problems[@]} problem(s) after $boots boots in $(( $(date +%s) - start ))s"
fi
step "boot test passed: $boots boots in $(( $(date +%s) - start ))s"
