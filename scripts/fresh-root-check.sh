#!/usr/bin/env bash
# Runs the README's first command in a fresh `debootstrap --variant=minbase bookworm`
# root, so that a package left on this machine cannot hide a missing install step
# (libfuse 2's headers once hid a broken `npm ci` for three sessions).
#
# The root gets only what a fresh Debian machine with Node 20 has: the host's Node
# and npm, Node's headers (/usr/include/node, which npm's nodedir points node-gyp
# at), npm's and apt's settings. The checkout is copied in as git would commit it
# (tracked and untracked files, not ignored ones: no node_modules, no builds).
# Run as root from a checkout, after scripts/install-deps.sh (for debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "fresh-root-check.sh: run as root" >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "fresh-root-check.sh: debootstrap is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

root=$(mktemp -d /var/tmp/hacktree-fresh.XXXXXX)
cleanup() {
  # Innermost first: the example's FUSE mount (if it failed half-way), then the binds.
  for m in $(awk -v r="$root" '$2 ~ "^"r {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

echo "== fresh-root-check: debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase bookworm "$root" >"$root.log" 2>&1 || { tail -5 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# Node 20 and npm as the machine has them, with their settings.
install -D -m 0755 "$(command -v node)" "$root/usr/bin/node"
mkdir -p "$root/usr/lib/node_modules" "$root/usr/include" "$root/usr/etc" "$root/root"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
cp -a /usr/include/node "$root/usr/include/node"
for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do [ -f "$f" ] && cp -a "$f" "$root$f"; done
# apt as this machine is configured (its sources and settings), and name resolution.
rm -f "$root/etc/apt/sources.list"
cp -a /etc/apt/sources.list* /etc/apt/apt.conf.d "$root/etc/apt/" 2>/dev/null || true
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# The machine's own certificate authorities (a proxy's, say): ca-certificates, which
# install-deps.sh installs, adds them to the bundle that npm's cafile names.
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$root/usr/local/share/ca-certificates" "$root/etc/ssl/certs"
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
fi

mkdir -p "$root/src/hacktree"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
done | rsync -a --from0 --files-from=- ./ "$root/src/hacktree/"

for d in dev proc sys; do mount --rbind "/$d" "$root/$d"; mount --make-rslave "$root/$d"; done

first=$(grep -m1 -o 'scripts/install-deps.sh && scripts/example.sh' README.md) \
  || { echo "fresh-root-check.sh: README's first command is not 'scripts/install-deps.sh && scripts/example.sh'" >&2; exit 1; }
echo "== fresh-root-check: $first (in the fresh root)"
passenv=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE http_proxy https_proxy no_proxy; do [ -n "${!v:-}" ] && passenv+=("$v=${!v}"); done
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb "${passenv[@]}" \
  /bin/bash -c "cd /src/hacktree && $first"
echo "== fresh-root-check: passed"
