# Model-based test of a writable layer: random sequences of file system
# operations, each applied to a directory on a disk file system (the reference)
# and to a directory in a writable path of a mounted root, compared after every
# step: the errno of each op, which times of the paths it names moved, and the
# whole tree (names, kinds, modes, owners, link counts, sizes, contents, user.*
# xattrs, which names are one inode, times set explicitly).
#
# One process runs every sequence on both trees (test/model-layer.test.ts starts
# it). A failing sequence is shrunk (ops dropped while it still fails) and
# printed with its seed and index so it can be replayed alone.
#
# Usage (as root):
#   model-ops.py run  --ref DIR --mnt DIR --seed S --count N [--remount CMD] [--templates DIR:N] [--known JSON]
#   model-ops.py replay --ref DIR --mnt DIR --sequence JSON [...same options]
#   model-ops.py template DIR J      (makes template J in DIR/tJ: what a templated sequence starts from)
#   model-ops.py stress --ref DIR --mnt DIR --seed S --seconds T   (one worker of the stress run)
#   model-ops.py reader --mnt DIR --seconds T                      (walks and reads the tree meanwhile)
#   model-ops.py compare --ref DIR --mnt DIR                       (the two trees' differences)
# The last line of output is a JSON summary; failures are JSON lines before it.
import argparse
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import random
import stat
import subprocess
import sys
import time

libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
AT_FDCWD, AT_SYMLINK_NOFOLLOW = -100, 0x100
EXPLICIT_BEFORE = 1_600_000_000  # times below this were set by utimens (the trees are made now)

# The names a sequence plays with: a few files and directories two levels deep, so
# that ops meet existing names, missing ones, non-directories in the path, and full dirs.
PATHS = ['a', 'b', 'c', 'D', 'E', 'D/a', 'D/b', 'D/E', 'E/a', 'D/E/a']
FILE_MODES = [0o644, 0o600, 0o755, 0o4755, 0o2755, 0o6711, 0o444]
DIR_MODES = [0o755, 0o700, 0o1777, 0o2775]
IDS = [-1, 0, 1000, 1001]
TRUNC_SIZES = [0, 1, 100, 4096, 4097, 70000, 300000, -1]
# A stress worker's names: many more files, in a few directories (see stress()).
STRESS_PATHS = ([f'f{i}' for i in range(20)] + [f'D{j}' for j in range(4)] + [f'D{j}/f{i}' for j in range(4) for i in range(20)]
                + [f'D{j}/E' for j in range(4)] + [f'D{j}/E/f{i}' for j in range(4) for i in range(20)])


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def check(rc):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno))


# --- generating ------------------------------------------------------------------


def gen_op(rng, paths=PATHS):
    p = lambda: rng.choice(paths)  # noqa: E731
    kind = rng.choices(
        ['create', 'write', 'truncate', 'rename', 'link', 'unlink', 'mkdir', 'rmdir', 'chmod', 'chown',
         'utimens', 'setxattr', 'removexattr', 'fsync', 'symlink'],
        [12, 14, 6, 10, 6, 8, 9, 5, 5, 4, 4, 5, 2, 3, 2])[0]
    if kind == 'create':
        return [kind, p(), rng.choice(FILE_MODES), rng.random() < 0.3]  # O_EXCL
    if kind == 'write':
        off = rng.choice([0, 0, rng.randrange(0, 5000), rng.randrange(0, 200_000)])
        return [kind, p(), off, rng.choice([1, 10, 4096, rng.randrange(1, 9000)]), rng.randrange(256), rng.random() < 0.2]  # O_APPEND
    if kind == 'truncate':
        return [kind, p(), rng.choice(TRUNC_SIZES)]
    if kind in ('rename', 'link'):
        return [kind, p(), p()]
    if kind in ('unlink', 'rmdir'):
        return [kind, p()]
    if kind == 'mkdir':
        return [kind, p(), rng.choice(DIR_MODES)]
    if kind == 'chmod':
        return [kind, p(), rng.choice(FILE_MODES + DIR_MODES)]
    if kind == 'chown':
        return [kind, p(), rng.choice(IDS), rng.choice(IDS)]
    if kind == 'utimens':
        t = lambda: rng.choice([[1_000_000_000 + rng.randrange(10**6), 0], 'now', 'omit'])  # noqa: E731
        return [kind, p(), None if rng.random() < 0.2 else [t(), t()]]
    if kind == 'setxattr':
        return [kind, p(), rng.choice(['user.k1', 'user.k2']), rng.randbytes(rng.choice([0, 3, 40])).hex(), rng.choice([0, 1, 2])]
    if kind == 'removexattr':
        return [kind, p(), rng.choice(['user.k1', 'user.k2'])]
    if kind == 'fsync':
        return [kind, p()]
    if kind == 'symlink':
        return [kind, rng.choice(['a', 'D/a', 'nowhere']), p()]
    raise AssertionError(kind)


def gen_sequence(seed, index, max_ops, remount_every, templates_left):
    rng = random.Random(f'{seed}:{index}')
    ops = [gen_op(rng) for _ in range(rng.randrange(1, max_ops + 1))]
    if remount_every and rng.randrange(remount_every) == 0:
        ops.insert(rng.randrange(len(ops) + 1), ['remount'])
    start = 'template' if templates_left > 0 and rng.random() < 0.5 else 'empty'
    return {'start': start, 'ops': ops}


# --- templates: what the commit has, for sequences that start from it ------------


def make_template(d, j):
    """A directory as a templated sequence starts: files and a directory of the commit."""
    os.mkdir(d, 0o755)
    os.chmod(d, 0o755)
    files = [('a', 0o644, 0, 0), ('b', 0o4755, 0, 0), ('D/a', 0o600, 1000, 1000)]
    os.mkdir(f'{d}/D')
    os.chmod(f'{d}/D', 0o755)
    for name, mode, uid, gid in files:
        with open(f'{d}/{name}', 'wb') as f:
            f.write(f'template {j} {name}\n'.encode() * (1 + j % 7))  # contents differ: no two are one inode
        os.chown(f'{d}/{name}', uid, gid)
        os.chmod(f'{d}/{name}', mode)
    os.setxattr(f'{d}/a', 'user.k1', b'base')
    # A commit keeps no file times: its files show mtime 0, as in an ostree checkout.
    for name, *_ in files:
        os.utime(f'{d}/{name}', (0, 0))


# --- applying ----------------------------------------------------------------------


def fill(byte, n):
    return bytes([byte]) * n


def apply(op, d):
    """Runs op in directory d; returns 'ok' or the errno name (with what a call returned)."""
    k = op[0]
    P = lambda q: f'{d}/{q}'  # noqa: E731
    try:
        if k == 'create':
            fd = os.open(P(op[1]), os.O_WRONLY | os.O_CREAT | (os.O_EXCL if op[3] else 0), op[2])
            os.close(fd)
        elif k == 'write':
            fd = os.open(P(op[1]), os.O_WRONLY | (os.O_APPEND if op[5] else 0))
            try:
                n = os.pwrite(fd, fill(op[4], op[3]), op[2]) if not op[5] else os.write(fd, fill(op[4], op[3]))
            finally:
                os.close(fd)
            return f'ok {n}'
        elif k == 'truncate':
            os.truncate(P(op[1]), op[2])
        elif k == 'rename':
            os.rename(P(op[1]), P(op[2]))
        elif k == 'link':
            os.link(P(op[1]), P(op[2]), follow_symlinks=False)
        elif k == 'unlink':
            os.unlink(P(op[1]))
        elif k == 'mkdir':
            os.mkdir(P(op[1]), op[2])
        elif k == 'rmdir':
            os.rmdir(P(op[1]))
        elif k == 'chmod':
            os.chmod(P(op[1]), op[2])
        elif k == 'chown':
            os.chown(P(op[1]), op[2], op[3], follow_symlinks=False)
        elif k == 'utimens':
            def ts(t):
                return Timespec(0, UTIME_NOW) if t == 'now' else Timespec(0, UTIME_OMIT) if t == 'omit' else Timespec(*t)
            times = None if op[2] is None else (Timespec * 2)(ts(op[2][0]), ts(op[2][1]))
            check(libc.utimensat(AT_FDCWD, P(op[1]).encode(), times, AT_SYMLINK_NOFOLLOW))
        elif k == 'setxattr':
            os.setxattr(P(op[1]), op[2], bytes.fromhex(op[3]), op[4], follow_symlinks=False)
        elif k == 'removexattr':
            os.removexattr(P(op[1]), op[2], follow_symlinks=False)
        elif k == 'fsync':
            p = P(op[1])
            if os.path.isdir(p):
                fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
            else:
                fd = os.open(p, os.O_WRONLY | os.O_APPEND)
                os.write(fd, b'fs\n')
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        elif k == 'symlink':
            os.symlink(op[1], P(op[2]))
        else:
            raise AssertionError(k)
    except OSError as e:
        return errname(e)
    return 'ok'


def subjects(op):
    """The paths whose times an op may move: the ones it names and their parent directories."""
    names = [x for x in op[1:3] if isinstance(x, str) and x in PATHS]
    if op[0] == 'symlink':
        names = [op[2]]
    out = []
    for n in names:
        for q in (n, os.path.dirname(n) or '.'):
            if q not in out:
                out.append(q)
    return out


def times_of(d, paths):
    out = {}
    for q in paths:
        try:
            s = os.lstat(f'{d}/{q}')
            out[q] = (s.st_ino, s.st_mtime_ns, s.st_ctime_ns)
        except OSError as e:
            out[q] = errname(e)
    return out


def moved(before, after):
    """Per path: which of mtime and ctime an op moved (for the same inode before and after)."""
    out = {}
    for q, b in before.items():
        a = after[q]
        if isinstance(a, str) or isinstance(b, str):
            continue  # made or removed: nothing to say of its times
        if a[0] != b[0]:
            out[q] = 'new inode'
            continue
        out[q] = ','.join(x for x, moved in (('m', a[1] != b[1]), ('c', a[2] != b[2])) if moved) or 'same'
    return out


def tick(seen):
    """
    Waits for the kernel's coarse clock (file times) to pass every time in `seen` (ns) and for
    the millisecond clock (layer records) to move on: a change after this sets other times.
    (With multigrain timestamps a coarse time never goes below the last fine-grained one
    handed out, so a change one jiffy after a fine-grained ctime can get that same ctime.)
    """
    m0 = time.time_ns() // 1_000_000
    # + 1 ms: the mount shows times cut to whole milliseconds (the real one may be up to 1 ms later).
    floor = max([time.clock_gettime_ns(5)] + [t + 1_000_000 for t in seen])
    while time.clock_gettime_ns(5) <= floor or time.time_ns() // 1_000_000 == m0:
        time.sleep(0.0005)


def snapshot(d):
    """The tree below d as comparable lines (path → description); inode groups by first name."""
    out = {}
    first_of = {}
    walk = [('', d)]
    while walk:
        rel, p = walk.pop()
        try:
            names = sorted(os.listdir(p))
        except OSError as e:
            out[rel or '.'] = f'listdir {errname(e)}'
            continue
        for n in names:
            r = f'{rel}/{n}' if rel else n
            q = f'{p}/{n}'
            s = os.lstat(q)
            m = s.st_mode
            line = [oct(m), f'nlink={s.st_nlink}', f'{s.st_uid}:{s.st_gid}']
            if stat.S_ISREG(m):
                line.append(f'size={s.st_size}')
                try:
                    with open(q, 'rb') as f:
                        line.append('sha1=' + hashlib.sha1(f.read()).hexdigest()[:12])
                except OSError as e:
                    line.append(f'read {errname(e)}')
            elif stat.S_ISLNK(m):
                line.append('-> ' + os.readlink(q))
            if not stat.S_ISDIR(m):
                first_of.setdefault(s.st_ino, r)
                if first_of[s.st_ino] != r:
                    line.append(f'same inode as {first_of[s.st_ino]}')
            if s.st_mtime < EXPLICIT_BEFORE:
                line.append(f'mtime={s.st_mtime_ns}')
            try:
                xs = sorted(x for x in os.listxattr(q, follow_symlinks=False) if x.startswith('user.'))
                line += [f'{x}={os.getxattr(q, x, follow_symlinks=False).hex()}' for x in xs]
            except OSError as e:
                line.append(f'listxattr {errname(e)}')
            out[r] = ' '.join(line)
            if stat.S_ISDIR(m):
                walk.append((r, q))
    return out


# --- comparing ---------------------------------------------------------------------


class Known:
    """Differences listed in the test (same list approach as posix-vs-ext4's KNOWN): excused, counted."""

    def __init__(self, entries):
        self.entries = entries
        self.excused = {e['id']: 0 for e in entries}
        self.agreed = {e['id']: 0 for e in entries}

    def matching(self, op, what, item=None):
        """The entries that excuse a difference `item` ({'ref','mnt'}) in `what` after `op` (any item when None)."""
        for e in self.entries:
            if e['op'] not in ('*', op[0]) or e['what'] != what:
                continue
            if not all(op[int(i)] == v for i, v in e.get('args', {}).items()):
                continue
            if item is not None and any(k in e and item[k] != e[k] for k in ('ref', 'mnt')):
                continue
            if item is None and ('mnt' in e or 'ref' in e):
                continue  # entries for one observed value are counted where it shows
            yield e['id']

    def excuse(self, op, what, diff):
        """Drops the items of diff (path → {'ref','mnt'}, or one {'ref','mnt'}) that a known entry explains."""
        items = diff.items() if what != 'result' else [(None, diff)]
        left = {}
        for k, item in items:
            ids = list(self.matching(op, what, item))
            for x in ids:
                self.excused[x] += 1
            if not ids:
                left[k] = item
        if what == 'result':
            return left.get(None)
        return left


def diff_dicts(want, got):
    keys = sorted(set(want) | set(got))
    return {k: {'ref': want.get(k), 'mnt': got.get(k)} for k in keys if want.get(k) != got.get(k)}


class Runner:
    def __init__(self, args, known):
        self.ref, self.mnt = args.ref, args.mnt
        self.remount_cmd = args.remount
        self.tdir, n = (args.templates.rsplit(':', 1) + ['0'])[:2] if args.templates else (None, '0')
        self.templates_left = int(n)
        self.next_template = 0
        self.known = known
        self.dirs = 0
        self.steps = 0
        self.remounts = 0
        self.diverged = 0
        self.replaying = args.mode == 'replay'
        self.clock = {}

    def fresh(self, seq):
        """Two new directories with the sequence's start; returns (ref, mnt), or None when no template is left."""
        self.dirs += 1
        if seq['start'] == 'template':
            if self.replaying and 'template' in seq:
                j = seq['template']
            elif self.templates_left <= 0:
                return None
            else:
                j = self.next_template
                self.next_template += 1
                self.templates_left -= 1
                seq['template'] = j  # which one it ran on: a replay takes the same
            r = f'{self.ref}/t{j}'
            make_template(r, j)
            return r, f'{self.mnt}/t{j}'
        r, m = f'{self.ref}/s{self.dirs}', f'{self.mnt}/s{self.dirs}'
        for x in (r, m):
            os.mkdir(x, 0o755)
            os.chmod(x, 0o755)
        return r, m

    def remount(self):
        self.remounts += 1
        c0 = time.perf_counter()
        r = subprocess.run(self.remount_cmd, shell=True, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f'remount failed ({r.returncode}): {r.stderr.strip()}')
        self.clock['remount'] = self.clock.get('remount', 0) + time.perf_counter() - c0

    def run(self, seq, excuse=True):
        """Runs a sequence in fresh directories; returns None, or the first difference {step, ...}."""
        dirs = self.fresh(seq)
        if dirs is None:
            return 'no template left'
        r, m = dirs
        first = diff_dicts(snapshot(r), snapshot(m))
        if first:
            return {'step': -1, 'op': None, 'tree': first}
        for i, op in enumerate(seq['ops']):
            self.steps += 1
            if op[0] == 'remount':
                self.remount()
                d = diff_dicts(snapshot(r), snapshot(m))
                if d:
                    return {'step': i, 'op': op, 'tree': d}
                continue
            subj = subjects(op)
            c0 = time.perf_counter()
            b_ref, b_mnt = times_of(r, subj), times_of(m, subj)
            c1 = time.perf_counter()
            tick([t for side in (b_ref, b_mnt) for v in side.values() if not isinstance(v, str) for t in v[1:]])
            c2 = time.perf_counter()
            res = {'ref': apply(op, r), 'mnt': apply(op, m)}
            t = diff_dicts(moved(b_ref, times_of(r, subj)), moved(b_mnt, times_of(m, subj)))
            c3 = time.perf_counter()
            out = {}
            if res['ref'] != res['mnt']:
                out['result'] = res
            if t:
                out['times'] = t
            # An op that failed alike on both sides changed nothing (if it did, the next op's comparison shows it).
            tree = {} if res['ref'] == res['mnt'] and not res['ref'].startswith('ok') else diff_dicts(snapshot(r), snapshot(m))
            if tree:
                out['tree'] = tree
            c4 = time.perf_counter()
            for k, v in (('stat', c1 - c0), ('tick', c2 - c1), ('op', c3 - c2), ('tree', c4 - c3)):
                self.clock[k] = self.clock.get(k, 0) + v
            if excuse and 'result' in out and self.known.excuse(op, 'result', out['result']) is None:
                # The trees went different ways by a known difference: the rest of the sequence would only repeat it.
                self.diverged += 1
                return None
            if excuse:
                for what in list(out):
                    left = self.known.excuse(op, what, out[what])
                    if left:
                        out[what] = left
                    else:
                        del out[what]
            for what in ('result', 'times', 'tree'):
                if what not in out:
                    for x in self.known.matching(op, what):
                        self.known.agreed[x] += 1
            if out:
                return {'step': i, 'op': op, **out}
        return None

    def shrink(self, seq, failure):
        """Drops ops while the sequence still fails; returns the smallest failing sequence found and its failure."""
        ops = seq['ops'][:failure['step'] + 1]
        best = {**seq, 'ops': ops}
        best_fail = failure
        chunk = max(1, len(ops) // 2)
        while chunk >= 1:
            i = 0
            while i < len(best['ops']):
                cand = {'start': best['start'], 'ops': best['ops'][:i] + best['ops'][i + chunk:]}  # a fresh template
                if not cand['ops']:
                    i += chunk
                    continue
                f = self.run(cand)
                if f == 'no template left':
                    return best, best_fail
                if f is not None:
                    best, best_fail = {**cand, 'ops': cand['ops'][:f['step'] + 1]}, f
                else:
                    i += chunk
            chunk //= 2
        return best, best_fail


def stress(args):
    """
    One worker of the stress run: random ops over STRESS_PATHS for --seconds, each applied to
    its directory in the mount and then to its reference directory; the errnos must agree.
    A rename the mount refuses with EXDEV (a directory of the commit, see the test's KNOWN) is
    not done on the reference. Prints a JSON summary with the first disagreements.
    """
    rng = random.Random(f'stress:{args.seed}')
    r, m = args.ref, args.mnt
    ops = exdev = 0
    bad = []
    end = time.time() + args.seconds
    while time.time() < end and len(bad) < 5:
        op = gen_op(rng, STRESS_PATHS)
        ops += 1
        got = apply(op, m)
        if op[0] == 'rename' and got == 'EXDEV' and os.path.isdir(f'{r}/{op[1]}'):
            exdev += 1
            continue
        want = apply(op, r)
        if want != got:
            bad.append({'op': op, 'ref': want, 'mnt': got})
    print(json.dumps({'ops': ops, 'exdev': exdev, 'mismatches': bad}), flush=True)


def reader(args):
    """Walks the mount's tree over and over while the workers change it: only names that vanish or change kind meanwhile may fail."""
    walks = 0
    errors = []
    end = time.time() + args.seconds
    while time.time() < end:
        for top, dirs, files in os.walk(args.mnt, onerror=lambda e: None if e.errno in (errno.ENOENT, errno.ENOTDIR) else errors.append(repr(e))):
            for n in files:
                try:
                    with open(f'{top}/{n}', 'rb') as f:
                        f.read()
                except OSError as e:
                    if e.errno not in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                        errors.append(f'{top}/{n}: {errname(e)}')
        walks += 1
    print(json.dumps({'walks': walks, 'errors': errors[:10]}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['run', 'replay', 'template', 'stress', 'reader', 'compare'])
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('rest', nargs='*')
    ap.add_argument('--ref')
    ap.add_argument('--mnt')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--first', type=int, default=0)
    ap.add_argument('--count', type=int, default=100)
    ap.add_argument('--max-ops', type=int, default=20)
    ap.add_argument('--remount')
    ap.add_argument('--remount-every', type=int, default=0, help='about one sequence in N remounts in its middle')
    ap.add_argument('--templates')
    ap.add_argument('--known', default='[]')
    ap.add_argument('--max-failures', type=int, default=8)
    ap.add_argument('--sequence')
    args = ap.parse_args()
    os.umask(0o022)
    if args.mode == 'template':
        make_template(f'{args.rest[0]}/t{args.rest[1]}', int(args.rest[1]))
        return
    if args.mode == 'stress':
        return stress(args)
    if args.mode == 'reader':
        return reader(args)
    if args.mode == 'compare':
        print(json.dumps({'differences': diff_dicts(snapshot(args.ref), snapshot(args.mnt))}), flush=True)
        return
    known = Known(json.loads(args.known))
    runner = Runner(args, known)
    failures = []
    t0 = time.time()
    if args.mode == 'replay':
        seq = json.loads(args.sequence)
        f = runner.run(seq, excuse=False)
        failures = [] if f is None else [{'sequence': seq, 'failure': f}]
        for x in failures:
            print(json.dumps({'failure': x}), flush=True)
        count = 1
    else:
        count = 0
        for i in range(args.first, args.first + args.count):
            seq = gen_sequence(args.seed, i, args.max_ops, args.remount_every if args.remount else 0, runner.templates_left)
            count += 1
            f = runner.run(seq)
            if f is not None and f != 'no template left':
                small, sf = runner.shrink(seq, f)
                failures.append({'seed': args.seed, 'index': i, 'sequence': small, 'failure': sf, 'original_length': len(seq['ops'])})
                print(json.dumps({'failure': failures[-1]}), flush=True)
                if len(failures) >= args.max_failures:
                    break
            if count % 500 == 0:
                print(json.dumps({'progress': count, 'seconds': round(time.time() - t0, 1)}), file=sys.stderr, flush=True)
    print(json.dumps({'sequences': count, 'steps': runner.steps, 'remounts': runner.remounts, 'templated': runner.next_template, 'diverged': runner.diverged,
                      'seconds': round(time.time() - t0, 1), 'excused': known.excused, 'agreed': known.agreed,
                      'failures': len(failures), 'clock': {k: round(v, 1) for k, v in runner.clock.items()}}), flush=True)


if __name__ == '__main__':
    main()
