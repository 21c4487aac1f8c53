# Sourced by bin/hacktree for `hacktree mount`: starts a plain mount's supervisor and daemon
# itself, without a node process of its own. A mount's start waited for two node starts one
# after the other (the command's, then the daemon's): this takes the first off its path.
#
# Only `[--repo R | --sysroot S]... mount [-o OPTS | --options OPTS]... REV DIR` is taken, and
# only when nothing the node command would refuse is in sight: REV names a local branch (a file
# under refs/heads/) or a whole checksum; DIR is an existing empty directory; no -o boot or
# nonempty, no verify= but all or none. Anything else returns, and bin/hacktree runs the node
# command as ever, which prints exactly the error it always did, and leaves no trace of a start.
# The daemon still makes every check itself (startSupervised's daemon makes them again as well):
# given REV unresolved (--unresolved), it resolves it and fails as the command would, on its
# ready fd ('refused CODE: MESSAGE'; see DaemonAnswer in src/mount-process.ts).
#
# What follows is startSupervised (src/mount-process.ts) in sh: a new session; a shell that
# forks the daemon and then becomes its supervisor (so the daemon is the supervisor's child);
# both write to the mount's log; the daemon says on fd 3 whether the mount came up, the
# supervisor on fd 4 that it watches the daemon. Here both fds are one pipe, read to its end.

mount_start() {
  ms_repo= ms_sysroot=
  while [ $# -gt 0 ]; do
    case $1 in
      --repo) [ $# -ge 2 ] && [ -n "$2" ] || return 0; ms_repo=$2; shift 2 ;;
      --sysroot) [ $# -ge 2 ] && [ -n "$2" ] || return 0; ms_sysroot=$2; shift 2 ;;
      mount) shift; break ;;
      *) return 0 ;;
    esac
  done
  ms_opts= ms_rev= ms_dir= ms_n=0
  while [ $# -gt 0 ]; do
    case $1 in
      -o|--options)
        [ $# -ge 2 ] || return 0
        # Passed on unquoted below: only plain option lists.
        case $2 in ''|-*|*[!A-Za-z0-9=,._/:@+-]*) return 0 ;; esac
        case ,$2, in *,boot,*|*,nonempty,*) return 0 ;; esac
        case ,$2, in *,verify=*) case ,$2, in *,verify=all,*|*,verify=none,*|*,verify,*) ;; *) return 0 ;; esac ;; esac
        ms_opts="$ms_opts -o $2"; shift 2 ;;
      -*) return 0 ;;
      *) ms_n=$((ms_n + 1)); [ $ms_n = 1 ] && ms_rev=$1 || ms_dir=$1; shift ;;
    esac
  done
  [ $ms_n = 2 ] || return 0
  # Where the repository is (src/cli/context.ts): --repo, $HACKTREE_REPO, or SYSROOT/repo with
  # SYSROOT from --sysroot, $HACKTREE_SYSROOT or /var/lib/hacktree. (An empty one names the
  # working directory to node: left to it.)
  if [ -z "$ms_repo" ]; then
    if [ -n "${HACKTREE_REPO+set}" ]; then ms_repo=$HACKTREE_REPO
    else ms_repo=${ms_sysroot:-${HACKTREE_SYSROOT-/var/lib/hacktree}}; ms_repo=${ms_repo:+$ms_repo/repo}
    fi
  fi
  [ -n "$ms_repo" ] || return 0
  case $ms_rev in ''|-*|*:*|*..*|/*|*//*|*/|*[!A-Za-z0-9._/-]*) return 0 ;; esac
  case $ms_rev in
    ????????????????????????????????????????????????????????????????) case $ms_rev in *[!0-9a-f]*) [ -f "$ms_repo/refs/heads/$ms_rev" ] || return 0 ;; esac ;;
    *) [ -f "$ms_repo/refs/heads/$ms_rev" ] || return 0 ;;
  esac
  [ -f "$ms_repo/config" ] || return 0

  # DIR as node's path.resolve makes it: absolute from the physical working directory, . and ..
  # taken away by name. Names with blanks or backslashes are left to the node command.
  case $ms_dir in *[[:space:]\\]*) return 0 ;; esac
  case $ms_dir in
    /*) ms_abs=$ms_dir ;;
    *) ms_pwd=$PWD; cd -P . || return 0; ms_abs=$PWD/$ms_dir; cd "$ms_pwd" || return 0 ;;
  esac
  ms_mnt=
  ms_ifs=$IFS; IFS=/; set -f
  for ms_c in $ms_abs; do
    case $ms_c in ''|.) ;; ..) ms_mnt=${ms_mnt%/*} ;; *) ms_mnt=$ms_mnt/$ms_c ;; esac
  done
  IFS=$ms_ifs; set +f
  ms_mnt=${ms_mnt:-/}
  [ -d "$ms_mnt" ] || return 0
  # Its directory's symlinks resolved, as the mount table will list it (kernelPath in
  # src/fuse/mountinfo.ts): the log is named after that path.
  if [ "$ms_mnt" != / ]; then
    ms_pwd=$PWD; cd -P "${ms_mnt%/*}/" || return 0; ms_mnt=${PWD%/}/${ms_mnt##*/}; cd "$ms_pwd" || return 0
  fi
  # Empty (so also not a mount of anything but an empty tree).
  for ms_f in "$ms_mnt"/* "$ms_mnt"/.[!.]* "$ms_mnt"/..?*; do
    if [ -e "$ms_f" ] || [ -L "$ms_f" ]; then return 0; fi
  done

  # The run directory (src/mount-state.ts): root's, or HACKTREE_RUN_DIR's; others' go through node.
  if [ -n "${HACKTREE_RUN_DIR:-}" ]; then
    case $HACKTREE_RUN_DIR in /*) ;; *) return 0 ;; esac
    case $HACKTREE_RUN_DIR in */|*//*|*/./*|*/../*|*/.|*/..) return 0 ;; esac
    ms_run=$HACKTREE_RUN_DIR/mounts
  else
    ms_uid=
    while read -r ms_k ms_v ms_rest; do
      [ "$ms_k" = Uid: ] && { ms_uid=$ms_v; break; }
    done </proc/self/status
    [ "$ms_uid" = 0 ] || return 0
    ms_run=/run/hacktree/mounts
  fi
  [ -d "$ms_run" ] || mkdir -p "$ms_run" || return 0
  ms_key=$(printf %s "$ms_mnt" | sha256sum) || return 0
  ms_rest=${ms_key#????????????????}
  ms_log=$ms_run/${ms_key%"$ms_rest"}.log

  # The request as requestArgv writes it (src/mount-process.ts), REV unresolved.
  set -f
  set -- "$dist/daemon-main.bundle.cjs" "$dist/supervisor-main.bundle.cjs" --repo "$ms_repo" $ms_opts --unresolved "$ms_rev" "$ms_mnt"
  set +f
  # shellcheck disable=SC2016
  ms_answer=$(
    exec 3>&1 4>&1 >>"$ms_log" 2>&1 </dev/null
    UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE-16} setsid /bin/sh -c 'd=$1 s=$2; shift 2
node "$d" --ready-fd 3 "$@" 4>&- &
exec node "$s" --first-daemon "$!" --ready-fd 4 "$@" 3>&-' sh "$@" &
  )
  ms_nl='
'
  ms_watching=yes
  case $ms_answer in
    watching) ms_answer= ;;
    watching"$ms_nl"*) ms_answer=${ms_answer#watching"$ms_nl"} ;;
    *"$ms_nl"watching) ms_answer=${ms_answer%"$ms_nl"watching} ;;
    *) ms_watching= ;;
  esac
  case $ms_answer in
    "ready "*)
      if [ -n "$ms_watching" ]; then
        printf 'mounted %s at %s\n' "${ms_answer#ready }" "$ms_mnt"
        exit 0
      fi
      # Served, but watched by no one: not a mount this command may report as made.
      if [ -x /usr/bin/fusermount3 ]; then fusermount3 -u -z "$ms_mnt"; else fusermount -u -z "$ms_mnt"; fi 2>/dev/null
      printf "hacktree: the mount's supervisor exited before it watched the daemon (log: %s)\n" "$ms_log" >&2
      exit 1 ;;
    "refused USAGE: "*) printf 'hacktree: %s\n' "${ms_answer#refused USAGE: }" >&2; exit 2 ;;
    "refused "*) printf 'hacktree: %s\n' "${ms_answer#refused *: }" >&2; exit 1 ;;
    "error: "*) printf 'hacktree: %s (log: %s)\n' "${ms_answer#error: }" "$ms_log" >&2; exit 1 ;;
    *) printf 'hacktree: the mount daemon exited before the mount was ready (log: %s)\n' "$ms_log" >&2; exit 1 ;;
  esac
}

# Node's own start (the command, not the daemon) is what this saves: without the bundles, or
# without setsid (util-linux), the node command does it all.
if [ "$dist/daemon-main.bundle.cjs" -nt "$dist/daemon-main.js" ] && [ "$dist/supervisor-main.bundle.cjs" -nt "$dist/supervisor-main.js" ] && command -v setsid >/dev/null; then
  mount_start "$@"
fi
