// Which paths of a root take writes. A rule is a glob over absolute paths:
// `*` matches within one path segment, `**` any number of segments (also none),
// `?` one character; everything else is literal.

export const DEFAULT_RULES: readonly string[] = [
  '/var/**',
  '/home/**',
  '/root/**',
  '/tmp/**',
  '/srv/**',
  // What the account tools write in /etc (traced on bookworm: useradd, usermod, userdel,
  // groupadd, groupdel, gpasswd, passwd, chpasswd, chage, chfn, chsh, newusers, vipw,
  // adduser, deluser): each database X, its backup X-, the new copy X+ renamed over X,
  // X.<pid> hard-linked to X.lock (and vipw's X.edit), the .pwd.lock lock file, and
  // pam_unix's nshadow/npasswd renamed over shadow/passwd.
  ...['passwd', 'shadow', 'group', 'gshadow', 'subuid', 'subgid'].flatMap((f) => [`/etc/${f}`, `/etc/${f}-`, `/etc/${f}+`, `/etc/${f}.*`]),
  '/etc/.pwd.lock',
  '/etc/nshadow',
  '/etc/npasswd',
  '/etc/hostname', '/etc/machine-id', '/etc/resolv.conf', '/etc/localtime', '/etc/adjtime',
];

/**
 * The rules of a throwaway layer (`enter --ephemeral`, `mount --ephemeral`): every path takes
 * writes, /usr and /etc too, as under `ostree admin unlock` or systemd-sysext's
 * `--mutable=ephemeral`, so dpkg and apt can install; the layer is dropped afterwards.
 */
export const EVERY_PATH: readonly string[] = ['/**'];

/**
 * Directories a root's mount gives a transient writable place, as a tmpfs there would:
 * everything below them takes writes, whatever the rules say, and what the layer holds
 * of them is dropped at each mount. Programs take them for empty at boot (stale pid
 * files and locks in /run stop services; adduser locks /run/adduser), and
 * `chroot MOUNT`, `systemd-nspawn -D` and `bwrap --bind MOUNT /` put nothing there.
 */
export const VOLATILE_DIRS: readonly string[] = ['/run', '/tmp'];

/** The volatile directory `path` is in (or is), or null. */
export function volatileDirOf(path: string): string | null {
  return VOLATILE_DIRS.find((d) => path === d || path.startsWith(`${d}/`)) ?? null;
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // '/**' at the end or '/**/' in the middle: any depth, including none.
        if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function checkRule(glob: string): string | null {
  if (!glob.startsWith('/')) return `writable rule '${glob}' must be an absolute path pattern`;
  if (glob.split('/').includes('..')) return `writable rule '${glob}' must not contain '..'`;
  return null;
}

export class Rules {
  private readonly res: RegExp[];
  constructor(readonly globs: readonly string[]) {
    this.res = globs.map(globToRegExp);
  }

  /** True when a write to this path (create, change, delete) is allowed. */
  writable(path: string): boolean {
    return this.res.some((r) => r.test(path)) || (volatileDirOf(path) !== null && !VOLATILE_DIRS.includes(path));
  }

  /** True when some path at or below the directory `dir` may take writes (false: none ever can). */
  writableBelow(dir: string): boolean {
    return [...this.globs, ...VOLATILE_DIRS.map((d) => `${d}/**`)].some((g) => globReachesBelow(g, dir));
  }
}

/** Whether `glob` can match `dir` or a path below it, segment by segment. */
function globReachesBelow(glob: string, dir: string): boolean {
  const g = glob.split('/').slice(1), d = dir === '/' ? [] : dir.split('/').slice(1);
  for (let i = 0; i < d.length; i++) {
    // A `**` may match any number of segments (and a segment with one in it too: globToRegExp).
    if (i >= g.length) return false;
    if (g[i]!.includes('**')) return true;
    if (!globToRegExp(`/${g[i]!}`).test(`/${d[i]!}`)) return false;
  }
  return true;
}

// What the rules mean for each kind of change. Each decision is the errno the
// change is refused with, or null when it may go ahead; the layer throws it.

export type Refusal = 'EROFS' | 'EXDEV' | null;

/** Making, changing or deleting the entry at `path` (also hiding it while open, and any write-open). */
export function changeRefusal(rules: Rules, path: string): Refusal {
  return rules.writable(path) ? null : 'EROFS';
}

/**
 * A hard link `path` to `existing`. The new name is a change (EROFS outside the set); an
 * `existing` outside the set cannot be copied up to share an inode with it, and EXDEV
 * (as across file systems) makes `ln` fail plainly and `cp -l` fall back to copying.
 */
export function linkRefusal(rules: Rules, existing: string, path: string): Refusal {
  if (!rules.writable(path)) return 'EROFS';
  if (!rules.writable(existing)) return 'EXDEV';
  return null;
}

/**
 * rename(from, to) by path. Taking `from` away is a change (EROFS outside the set); a
 * target outside the set gives EXDEV, so that `mv` copies instead, and the copy then
 * gets EROFS where it is really refused.
 */
export function renameRefusal(rules: Rules, from: string, to: string): Refusal {
  if (!rules.writable(from)) return 'EROFS';
  if (!rules.writable(to)) return 'EXDEV';
  return null;
}

/**
 * Renaming a directory the commit has at that name too (`dirInBase`) would mean copying it
 * up whole: EXDEV instead, as overlayfs without redirect_dir, and `mv` copies.
 */
export function dirRenameRefusal(dirInBase: boolean): Refusal {
  return dirInBase ? 'EXDEV' : null;
}
