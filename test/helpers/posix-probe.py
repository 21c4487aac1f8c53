# POSIX probes: each scenario does the same operations in the directory it is
# given and prints one line per observation ("label: value"). The tests run a
# scenario in a directory on ext4 and in a writable path of a mounted root and
# compare the lines, so a probe prints only what ext4 decides (errnos, modes,
# link counts, whether a time moved), never raw inode numbers or times.
#
# Usage: posix-probe.py SCENARIO DIR   (as root; some probes act as uid 1000)
import ctypes
import ctypes.util
import errno
import hashlib
import os
import socket
import stat
import sys
import time

libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
USER = 1000

def say(label, value):
    print(f'{label}: {value}', flush=True)


def cat(p):
    return err(lambda: open(p, 'rb').read().decode())


def err(fn):
    """'ok' (or what fn returned), or the errno name it failed with."""
    try:
        r = fn()
        return 'ok' if r is None else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def as_user(fn, uid=USER, gid=USER):
    """Runs fn in a child as uid/gid (no supplementary groups); returns what it returned (a string)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            res = str(err(fn))
        except BaseException as e:  # noqa: BLE001 - anything goes back to the parent
            res = f'child failed: {e!r}'
        os.write(w, res.encode())
        os._exit(0)
    os.close(w)
    data = b''
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


def kind(m):
    for t, n in ((stat.S_ISREG, 'file'), (stat.S_ISDIR, 'dir'), (stat.S_ISLNK, 'symlink'), (stat.S_ISFIFO, 'fifo'),
                 (stat.S_ISSOCK, 'socket'), (stat.S_ISCHR, 'chr'), (stat.S_ISBLK, 'blk')):
        if t(m):
            return n
    return '?'


def desc(p, follow=False):
    try:
        s = os.stat(p) if follow else os.lstat(p)
    except OSError as e:
        return errno.errorcode[e.errno]
    return f'{kind(s.st_mode)} {oct(stat.S_IMODE(s.st_mode))} nlink={s.st_nlink} {s.st_uid}:{s.st_gid} size={s.st_size}'


def tick():
    # ctime comes from the kernel's coarse clock (one jiffy at most): after this,
    # a change that sets ctime sets a different one.
    time.sleep(0.03)


def moved(p, op, fields=('st_ctime_ns',), follow=False):
    """Runs op; says which of the given times of p changed (by name), or 'same'."""
    st = os.stat if follow else os.lstat
    before = st(p)
    tick()
    r = err(op)
    after = st(p)
    changed = [f[3:-3] for f in fields if getattr(before, f) != getattr(after, f)]
    return f'{r} {",".join(changed) or "same"}'


def check(rc):
    """A libc call's -1 as the OSError Python would raise."""
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def utimensat(p, at, mt, follow=True):
    """utimensat with (sec, nsec) pairs; nsec may be UTIME_NOW/UTIME_OMIT; None for a NULL times argument."""
    class Timespec(ctypes.Structure):
        _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]
    times = None if at is None else (Timespec * 2)(Timespec(*at), Timespec(*mt))
    check(libc.utimensat(AT_FDCWD, p.encode(), times, 0 if follow else 0x100))


def renameat2(a, b, flags):
    check(libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags))


def with_fd(p, flags, fn, mode=0o644):
    """fn(fd) on p opened with flags; the fd is closed after."""
    fd = os.open(p, flags, mode)
    try:
        return fn(fd)
    finally:
        os.close(fd)


def write(p, data=b'x', flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    with_fd(p, flags, lambda fd: os.write(fd, data), mode)


# --- scenarios --------------------------------------------------------------------


def sockets(d):
    p = f'{d}/sock'
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # sun_path holds 108 bytes: bind by a name relative to the directory.
    os.chdir(d)
    say('bind', err(lambda: srv.bind('sock')))
    say('stat', desc(p))
    say('listen', err(lambda: srv.listen(1)))
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    say('connect', err(lambda: cli.connect('sock')))
    conn, _ = srv.accept()
    cli.sendall(b'ping')
    say('accept+recv', conn.recv(4).decode())
    conn.sendall(b'pong')
    say('reply', cli.recv(4).decode())
    for s in (conn, cli, srv):
        s.close()
    say('bind again (EADDRINUSE)', err(lambda: socket.socket(socket.AF_UNIX).bind('sock')))
    say('connect after close', err(lambda: socket.socket(socket.AF_UNIX).connect('sock')))
    say('unlink', err(lambda: os.unlink(p)))
    # A datagram socket, and one bound by uid 1000 in a sticky directory.
    dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    say('bind dgram', err(lambda: dg.bind('dgram')))
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    say('sendto', err(lambda: tx.sendto(b'hi', 'dgram') and None))
    say('recv dgram', dg.recv(2).decode())
    dg.close()
    tx.close()
    os.mkdir(f'{d}/shared')
    os.chmod(f'{d}/shared', 0o1777)
    say('bind as 1000', as_user(lambda: socket.socket(socket.AF_UNIX).bind(f'shared/u')))
    say('stat as 1000 (mode from umask)', desc(f'{d}/shared/u'))
    old = os.umask(0o077)
    s2 = socket.socket(socket.AF_UNIX)
    say('bind with umask 077', err(lambda: s2.bind('private')))
    os.umask(old)
    say('stat umask 077', desc(f'{d}/private'))
    say('mknod S_IFSOCK', err(lambda: os.mknod(f'{d}/nodsock', stat.S_IFSOCK | 0o600)))
    say('stat mknod', desc(f'{d}/nodsock'))
    # FIFOs: made, opened from both ends, data through them.
    say('mkfifo', err(lambda: os.mkfifo(f'{d}/fifo', 0o620)))
    say('stat fifo', desc(f'{d}/fifo'))
    r = os.open(f'{d}/fifo', os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(f'{d}/fifo', os.O_WRONLY)
    os.write(w, b'through')
    say('fifo read', os.read(r, 7).decode())
    os.close(w)
    os.close(r)
    say('rename socket', err(lambda: os.rename(f'{d}/private', f'{d}/private2')))
    say('stat renamed', desc(f'{d}/private2'))


def ctime(d):
    f = f'{d}/f'
    write(f)
    say('chmod', moved(f, lambda: os.chmod(f, 0o600)))
    say('chmod same mode', moved(f, lambda: os.chmod(f, 0o600)))
    say('chown', moved(f, lambda: os.chown(f, 5, 6)))
    say('chown -1 -1', moved(f, lambda: os.chown(f, -1, -1)))
    say('link (target)', moved(f, lambda: os.link(f, f'{d}/g')))
    say('link (dir)', moved(d, lambda: os.link(f, f'{d}/h'), ('st_ctime_ns', 'st_mtime_ns')))
    say('unlink other name', moved(f, lambda: os.unlink(f'{d}/g')))
    say('unlink (dir)', moved(d, lambda: os.unlink(f'{d}/h'), ('st_ctime_ns', 'st_mtime_ns')))
    f2 = f'{d}/f2'
    os.link(f, f'{d}/keep')
    say('rename (file itself)', moved(f'{d}/keep', lambda: os.rename(f, f2)))
    os.unlink(f'{d}/keep')
    f = f2
    say('truncate', moved(f, lambda: os.truncate(f, 10), ('st_ctime_ns', 'st_mtime_ns')))
    say('truncate same size', moved(f, lambda: os.truncate(f, 10), ('st_ctime_ns', 'st_mtime_ns')))
    say('ftruncate', moved(f, lambda: trunc_fd(f, 3), ('st_ctime_ns', 'st_mtime_ns')))
    say('utime explicit', moved(f, lambda: os.utime(f, (1, 2))))
    say('utime now', moved(f, lambda: os.utime(f), ('st_ctime_ns', 'st_mtime_ns', 'st_atime_ns')))
    say('utime omit both', moved(f, lambda: utimensat(f, (0, UTIME_OMIT), (0, UTIME_OMIT))))
    say('setxattr', moved(f, lambda: os.setxattr(f, 'user.a', b'1')))
    say('removexattr', moved(f, lambda: os.removexattr(f, 'user.a')))
    say('write', moved(f, lambda: write(f, b'more', os.O_WRONLY), ('st_ctime_ns', 'st_mtime_ns')))
    say('read', moved(f, lambda: open(f, 'rb').read() and None, ('st_ctime_ns', 'st_mtime_ns')))
    os.mkdir(f'{d}/sub')
    say('mkdir (parent)', moved(d, lambda: os.mkdir(f'{d}/sub2'), ('st_ctime_ns', 'st_mtime_ns')))
    say('rename dir (parent)', moved(d, lambda: os.rename(f'{d}/sub2', f'{d}/sub3'), ('st_ctime_ns', 'st_mtime_ns')))
    os.mkdir(f'{d}/sub3/in')
    say('rename dir into other (target parent)', moved(f'{d}/sub', lambda: os.rename(f'{d}/sub3', f'{d}/sub/s'), ('st_ctime_ns', 'st_mtime_ns')))
    say('its child after (unchanged)', moved(f'{d}/sub/s/in', lambda: None, ('st_ctime_ns', 'st_mtime_ns')))
    say('symlink (parent)', moved(f'{d}/sub', lambda: os.symlink('x', f'{d}/sub/l'), ('st_ctime_ns', 'st_mtime_ns')))
    say('symlink lchown', moved(f'{d}/sub/l', lambda: os.lchown(f'{d}/sub/l', 3, 3)))
    say('symlink utime', moved(f'{d}/sub/l', lambda: os.utime(f'{d}/sub/l', (5, 5), follow_symlinks=False)))


def trunc_fd(p, n):
    with_fd(p, os.O_WRONLY, lambda fd: os.ftruncate(fd, n))


def chown(d):
    f = f'{d}/f'
    write(f)
    os.chown(f, 1234, 5678)
    say('-1 -1', err(lambda: os.chown(f, -1, -1)) + ' ' + desc(f))
    say('uid only', err(lambda: os.chown(f, 77, -1)) + ' ' + desc(f))
    say('gid only', err(lambda: os.chown(f, -1, 88)) + ' ' + desc(f))
    # setuid/setgid on chown by root: cleared for a regular file (setgid only with g+x).
    for mode in (0o4755, 0o2755, 0o2745, 0o6755, 0o6711, 0o4700, 0o2644):
        os.chmod(f, mode)
        say(f'root chown of {oct(mode)}', err(lambda: os.chown(f, 3, 4)) + ' ' + desc(f))
        os.chmod(f, mode)
        say(f'root chown -1 -1 of {oct(mode)}', err(lambda: os.chown(f, -1, -1)) + ' ' + desc(f))
    # A directory keeps its setgid bit.
    os.mkdir(f'{d}/dir')
    os.chmod(f'{d}/dir', 0o2775)
    say('root chown of setgid dir', err(lambda: os.chown(f'{d}/dir', 3, 4)) + ' ' + desc(f'{d}/dir'))
    # Who may chown: the owner may change the group to one of theirs, nobody else anything.
    u = f'{d}/u'
    write(u)
    os.chown(u, USER, USER)
    os.chmod(u, 0o6775)
    say('owner chown own group', as_user(lambda: os.chown(u, -1, USER)) + ' ' + desc(u))
    os.chmod(u, 0o6775)
    say('owner chown -1 -1', as_user(lambda: os.chown(u, -1, -1)) + ' ' + desc(u))
    say('owner chown other group', as_user(lambda: os.chown(u, -1, 0)) + ' ' + desc(u))
    say('owner chown to other uid', as_user(lambda: os.chown(u, 0, -1)) + ' ' + desc(u))
    say('owner chown to self uid', as_user(lambda: os.chown(u, USER, -1)) + ' ' + desc(u))
    r = f'{d}/r'
    write(r)
    say('non-owner chown -1 -1', as_user(lambda: os.chown(r, -1, -1)) + ' ' + desc(r))
    say('non-owner chown', as_user(lambda: os.chown(r, USER, USER)) + ' ' + desc(r))
    # Writes by someone else than root clear setuid, and setgid with g+x.
    for mode in (0o4777, 0o2777, 0o2767, 0o6777, 0o0777):
        w = f'{d}/w{oct(mode)}'
        write(w)
        os.chmod(w, mode)
        say(f'write by 1000 to {oct(mode)}', as_user(lambda: write(w, b'y', os.O_WRONLY)) + ' ' + desc(w))
        os.chmod(w, mode)
        say(f'write by root to {oct(mode)}', err(lambda: write(w, b'z', os.O_WRONLY)) + ' ' + desc(w))
        os.chmod(w, mode)
        say(f'truncate by 1000 of {oct(mode)}', as_user(lambda: os.truncate(w, 0)) + ' ' + desc(w))
    # chmod by a non-owner: EPERM; setgid asked for by an owner outside the group: dropped.
    say('non-owner chmod', as_user(lambda: os.chmod(r, 0o777)) + ' ' + desc(r))
    g = f'{d}/g'
    write(g)
    os.chown(g, USER, 0)
    say('owner chmod g+s outside group', as_user(lambda: os.chmod(g, 0o2755)) + ' ' + desc(g))
    say('lchown symlink', err(lambda: (os.symlink('f', f'{d}/l'), os.lchown(f'{d}/l', 9, 9))[1]) + ' ' + desc(f'{d}/l') + ' / ' + desc(f))


def rename(d):
    os.makedirs(f'{d}/a/x')
    os.mkdir(f'{d}/empty')
    os.makedirs(f'{d}/full/y')
    write(f'{d}/file')
    say('dir over empty dir', err(lambda: os.rename(f'{d}/a', f'{d}/empty')) + ' ' + desc(f'{d}/empty/x') + ' ' + desc(f'{d}/a'))
    say('dir over non-empty dir', err(lambda: os.rename(f'{d}/empty', f'{d}/full')))
    say('dir over file', err(lambda: os.rename(f'{d}/empty', f'{d}/file')))
    say('file over dir', err(lambda: os.rename(f'{d}/file', f'{d}/full')))
    say('dir into own subtree', err(lambda: os.rename(f'{d}/empty', f'{d}/empty/x/in')))
    say('dir onto itself', err(lambda: os.rename(f'{d}/empty', f'{d}/empty')))
    say('dir onto own child', err(lambda: os.rename(f'{d}/empty', f'{d}/empty/x')))
    say('child onto ancestor', err(lambda: os.rename(f'{d}/empty/x', f'{d}/empty')))
    say('file onto itself', err(lambda: os.rename(f'{d}/file', f'{d}/file')) + ' ' + desc(f'{d}/file'))
    say('nonexistent source', err(lambda: os.rename(f'{d}/nope', f'{d}/nope2')))
    say('into missing dir', err(lambda: os.rename(f'{d}/file', f'{d}/nodir/file')))
    say('through a file', err(lambda: os.rename(f'{d}/file', f'{d}/file/x')))
    say('dot', err(lambda: os.rename(f'{d}/empty/.', f'{d}/dot')))
    # Two names of one inode: nothing happens, both stay.
    os.link(f'{d}/file', f'{d}/file2')
    say('between names of one inode', err(lambda: os.rename(f'{d}/file', f'{d}/file2')) + ' ' + desc(f'{d}/file') + ' ' + desc(f'{d}/file2'))
    # Over a file with other names: those keep the old inode, one link less.
    write(f'{d}/t1', b'target')
    os.link(f'{d}/t1', f'{d}/t2')
    os.link(f'{d}/t1', f'{d}/t3')
    write(f'{d}/src', b'source')
    say('over a file with 3 names', err(lambda: os.rename(f'{d}/src', f'{d}/t1')) + ' ' + desc(f'{d}/t1') + ' ' + desc(f'{d}/t2') + ' ' + desc(f'{d}/t3'))
    say('content', cat(f'{d}/t1') + ' ' + cat(f'{d}/t2'))
    # A file kept open across being renamed over.
    write(f'{d}/o', b'open one')
    fd = os.open(f'{d}/o', os.O_RDONLY)
    write(f'{d}/n', b'new one')
    os.rename(f'{d}/n', f'{d}/o')
    say('renamed-over open file', err(lambda: f'nlink={os.fstat(fd).st_nlink} ' + os.pread(fd, 100, 0).decode()))
    os.close(fd)
    say('directory nlink', desc(f'{d}/empty') + ' ' + desc(d))
    # A subdirectory moved between directories: both parents' link counts.
    os.mkdir(f'{d}/p1')
    os.mkdir(f'{d}/p2')
    os.mkdir(f'{d}/p1/c')
    os.rename(f'{d}/p1/c', f'{d}/p2/c')
    say('parents after moving a subdir', desc(f'{d}/p1') + ' ' + desc(f'{d}/p2'))
    # Sticky directory: someone else's file cannot be renamed away or over.
    os.mkdir(f'{d}/st')
    os.chmod(f'{d}/st', 0o1777)
    write(f'{d}/st/roots')
    say('sticky rename by other', as_user(lambda: os.rename(f'{d}/st/roots', f'{d}/st/mine')))
    say('sticky over by other', as_user(lambda: (write(f'{d}/st/m2'), os.rename(f'{d}/st/m2', f'{d}/st/roots'))[1]))
    # renameat2 flags.
    write(f'{d}/x1', b'one')
    write(f'{d}/x2', b'two')
    say('RENAME_NOREPLACE over existing', err(lambda: renameat2(f'{d}/x1', f'{d}/x2', RENAME_NOREPLACE)))
    say('RENAME_NOREPLACE to new', err(lambda: renameat2(f'{d}/x1', f'{d}/x3', RENAME_NOREPLACE)) + ' ' + desc(f'{d}/x1'))
    say('RENAME_EXCHANGE', err(lambda: renameat2(f'{d}/x3', f'{d}/x2', RENAME_EXCHANGE)) + ' ' + cat(f'{d}/x2') + ' ' + cat(f'{d}/x3'))
    say('RENAME_EXCHANGE with missing', err(lambda: renameat2(f'{d}/x3', f'{d}/x9', RENAME_EXCHANGE)))
    # Two directories trade places, and each child is reached by its new path (and a file by its old handle).
    os.makedirs(f'{d}/ea/in')
    os.makedirs(f'{d}/eb')
    write(f'{d}/ea/in/f', b'from a')
    write(f'{d}/eb/g', b'from b')
    fd = os.open(f'{d}/ea/in/f', os.O_RDONLY)
    say('RENAME_EXCHANGE of directories', err(lambda: renameat2(f'{d}/ea', f'{d}/eb', RENAME_EXCHANGE)) + ' ' + cat(f'{d}/eb/in/f') + ' ' + cat(f'{d}/ea/g')
        + ' ' + str(os.path.exists(f'{d}/ea/in')) + ' ' + str(os.path.exists(f'{d}/eb/g')) + ' ' + os.pread(fd, 10, 0).decode())
    os.close(fd)


def remove(d):
    os.makedirs(f'{d}/dir/sub')
    write(f'{d}/f')
    say('rmdir non-empty', err(lambda: os.rmdir(f'{d}/dir')))
    say('rmdir file', err(lambda: os.rmdir(f'{d}/f')))
    say('unlink dir', err(lambda: os.unlink(f'{d}/dir')))
    say('rmdir dot', err(lambda: os.rmdir(f'{d}/dir/.')))
    say('rmdir dotdot', err(lambda: os.rmdir(f'{d}/dir/sub/..')))
    say('rmdir missing', err(lambda: os.rmdir(f'{d}/nope')))
    say('unlink missing', err(lambda: os.unlink(f'{d}/nope')))
    say('unlink through file', err(lambda: os.unlink(f'{d}/f/x')))
    say('rmdir trailing slash', err(lambda: os.rmdir(f'{d}/dir/sub/')))
    say('dir nlink after rmdir', desc(f'{d}/dir'))
    say('unlink trailing slash', err(lambda: os.unlink(f'{d}/f/')))
    os.symlink('dir', f'{d}/ldir')
    say('rmdir symlink to dir', err(lambda: os.rmdir(f'{d}/ldir')))
    say('unlink symlink to dir', err(lambda: os.unlink(f'{d}/ldir')) + ' ' + desc(f'{d}/dir'))
    # Open and unlinked: nlink 0, still readable and writable, other names count down.
    write(f'{d}/o', b'data')
    os.link(f'{d}/o', f'{d}/o2')
    fd = os.open(f'{d}/o', os.O_RDWR)
    os.unlink(f'{d}/o')
    say('open, one of two names unlinked', f'nlink={os.fstat(fd).st_nlink} ' + desc(f'{d}/o2'))
    os.unlink(f'{d}/o2')
    say('open, all names unlinked', f'nlink={os.fstat(fd).st_nlink} size={os.fstat(fd).st_size}')
    os.pwrite(fd, b'more', 4)
    say('write after unlink', f'size={os.fstat(fd).st_size} ' + os.pread(fd, 10, 0).decode())
    os.close(fd)
    # A directory removed while someone has it as cwd... and held open.
    os.mkdir(f'{d}/gone')
    dfd = os.open(f'{d}/gone', os.O_RDONLY | os.O_DIRECTORY)
    os.rmdir(f'{d}/gone')
    say('open dir after rmdir', err(lambda: f'nlink={os.fstat(dfd).st_nlink}'))
    say('create in removed dir', err(lambda: os.close(os.open('x', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dfd))))
    os.close(dfd)
    # Sticky: someone else's file may not be deleted.
    os.mkdir(f'{d}/st')
    os.chmod(f'{d}/st', 0o1777)
    write(f'{d}/st/roots')
    say('sticky unlink by other', as_user(lambda: os.unlink(f'{d}/st/roots')))
    os.mkdir(f'{d}/st/rdir')
    say('sticky rmdir by other', as_user(lambda: os.rmdir(f'{d}/st/rdir')))


def limits(d):
    n255, n256 = 'n' * 255, 'n' * 256
    say('create 255', err(lambda: write(f'{d}/{n255}')))
    say('create 256', err(lambda: write(f'{d}/{n256}')))
    say('stat 256', err(lambda: os.lstat(f'{d}/{n256}') and None))
    say('mkdir 256', err(lambda: os.mkdir(f'{d}/{n256}')))
    say('symlink name 256', err(lambda: os.symlink('x', f'{d}/{n256}')))
    say('link to 256', err(lambda: os.link(f'{d}/{n255}', f'{d}/{n256}')))
    say('rename to 256', err(lambda: os.rename(f'{d}/{n255}', f'{d}/{n256}')))
    say('mkfifo 256', err(lambda: os.mkfifo(f'{d}/{n256}')))
    say('unlink 256', err(lambda: os.unlink(f'{d}/{n256}')))
    say('multibyte 128x2', err(lambda: write(f'{d}/' + 'é' * 128)))
    say('multibyte 127x2+1', err(lambda: write(f'{d}/' + 'é' * 127 + 'x')))
    for n in (1000, 4094, 4095, 4096, 5000):
        say(f'symlink target {n}', err(lambda: os.symlink('t' * n, f'{d}/t{n}')))
        say(f'readlink {n}', err(lambda: str(len(os.readlink(f'{d}/t{n}')))))
    say('path 4095', err(lambda: os.lstat(f'{d}/' + 'a/' * 2046 + 'b') and None))
    say('path 4096+', err(lambda: os.lstat('/' * 4000 + f'{d}/' + 'a' * 200) and None))
    # Deep: past PATH_MAX by going one directory down at a time.
    comp = 'd' * 200
    fds = [os.open(d, os.O_RDONLY | os.O_DIRECTORY)]
    status = 'ok'
    for depth in range(1, 31):
        try:
            os.mkdir(comp, dir_fd=fds[-1])
            fds.append(os.open(comp, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        except OSError as e:
            status = f'{errno.errorcode[e.errno]} at depth {depth}'
            break
    say('mkdir 30 levels of 200 bytes', status)
    say('create at depth', err(lambda: os.close(os.open('leaf', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fds[-1]))))
    say('stat at depth', err(lambda: os.stat('leaf', dir_fd=fds[-1]) and None))
    # Taken down the same way (nothing can remove it by path).
    err(lambda: os.unlink('leaf', dir_fd=fds[-1]))
    for parent in reversed(fds[:-1]):
        err(lambda: os.rmdir(comp, dir_fd=parent))
    for fd in fds:
        os.close(fd)


def truncate(d):
    f = f'{d}/f'
    write(f, b'0123456789')
    say('negative', err(lambda: os.truncate(f, -1)))
    fd = os.open(f, os.O_RDWR)
    say('ftruncate negative', err(lambda: os.ftruncate(fd, -1)))
    os.close(fd)
    fd = os.open(f, os.O_RDONLY)
    say('ftruncate on O_RDONLY', err(lambda: os.ftruncate(fd, 2)))
    # While only a reader holds it open: truncate(2) by path works all the same.
    say('truncate while open read-only', err(lambda: os.truncate(f, 8)) + ' ' + desc(f))
    os.close(fd)
    say('truncate dir', err(lambda: os.truncate(d, 0)))
    say('truncate missing', err(lambda: os.truncate(f'{d}/nope', 0)))
    say('grow', err(lambda: os.truncate(f, 20)) + ' ' + desc(f))
    say('grow content', repr(open(f, 'rb').read()))
    # Permissions: truncate needs write permission; root's 0644 file is not 1000's.
    os.chmod(f, 0o644)
    say('truncate by 1000 without write', as_user(lambda: os.truncate(f, 1)))
    os.chmod(f, 0o666)
    say('truncate by 1000 with write', as_user(lambda: os.truncate(f, 1)) + ' ' + desc(f))
    os.chmod(f, 0o444)
    say('truncate by root of 0444', err(lambda: os.truncate(f, 0)) + ' ' + desc(f))
    os.chown(f, USER, USER)
    say('truncate by owner of 0444', as_user(lambda: os.truncate(f, 0)))
    # utimensat: explicit times by the owner (or root) only; NOW by anyone with write access.
    u = f'{d}/u'
    write(u)
    os.chmod(u, 0o666)
    say('utime now by non-owner with write', as_user(lambda: utimensat(u, None, None)))
    say('utime NOW,NOW by non-owner with write', as_user(lambda: utimensat(u, (0, UTIME_NOW), (0, UTIME_NOW))))
    say('utime explicit by non-owner', as_user(lambda: utimensat(u, (1, 0), (2, 0))))
    say('utime NOW,OMIT by non-owner with write', as_user(lambda: utimensat(u, (0, UTIME_NOW), (0, UTIME_OMIT))))
    say('utime OMIT,OMIT by non-owner', as_user(lambda: utimensat(u, (0, UTIME_OMIT), (0, UTIME_OMIT))))
    os.chmod(u, 0o644)
    say('utime now by non-owner without write', as_user(lambda: utimensat(u, None, None)))
    os.chown(u, USER, USER)
    os.chmod(u, 0o444)
    say('utime explicit by owner without write', as_user(lambda: utimensat(u, (3, 0), (4, 0))))
    say('utime now by owner without write', as_user(lambda: utimensat(u, None, None)))
    t = f'{d}/t'
    write(t)
    utimensat(t, (100, 5), (200, 7))
    s = os.stat(t)
    say('explicit ns', f'{s.st_atime_ns} {s.st_mtime_ns}')
    utimensat(t, (300, 0), (0, UTIME_OMIT))
    s = os.stat(t)
    say('atime set, mtime OMIT', f'{s.st_atime_ns} {s.st_mtime_ns}')
    utimensat(t, (0, UTIME_OMIT), (400, 0))
    s = os.stat(t)
    say('atime OMIT, mtime set', f'{s.st_atime_ns} {s.st_mtime_ns}')
    before = time.time_ns()
    utimensat(t, (0, UTIME_NOW), (0, UTIME_OMIT))
    s = os.stat(t)
    say('atime NOW, mtime OMIT', f'{s.st_atime_ns >= before - 10**9} {s.st_mtime_ns}')
    say('negative time', err(lambda: utimensat(t, (-5, 0), (-7, 0))) + ' ' + f'{os.stat(t).st_atime_ns} {os.stat(t).st_mtime_ns}')
    say('bad nsec', err(lambda: utimensat(t, (1, 2_000_000_000), (1, 0))))
    say('utime missing', err(lambda: utimensat(f'{d}/nope', None, None)))
    os.symlink('t', f'{d}/l')
    utimensat(f'{d}/l', (11, 0), (12, 0), follow=False)
    say('symlink nofollow', f'{os.lstat(f"{d}/l").st_mtime_ns} {os.stat(t).st_mtime_ns}')


def hardlinks(d):
    write(f'{d}/a', b'one')
    os.link(f'{d}/a', f'{d}/b')
    os.mkdir(f'{d}/sub')
    os.link(f'{d}/a', f'{d}/sub/c')
    say('three names', desc(f'{d}/a') + ' ' + desc(f'{d}/sub/c'))
    write(f'{d}/b', b'two', os.O_WRONLY | os.O_TRUNC)
    ids = {os.stat(f'{d}/{p}').st_ino for p in ('a', 'b', 'sub/c')}
    say('after write through b', f'inodes={len(ids)} ' + desc(f'{d}/a') + ' ' + cat(f'{d}/sub/c'))
    os.chmod(f'{d}/sub/c', 0o600)
    say('chmod through one name', desc(f'{d}/a'))
    os.rename(f'{d}/sub/c', f'{d}/c')
    say('after rename', desc(f'{d}/c') + ' ' + desc(f'{d}/a'))
    say('link to dir', err(lambda: os.link(f'{d}/sub', f'{d}/sub2')))
    say('link existing name', err(lambda: os.link(f'{d}/a', f'{d}/b')))
    say('link missing', err(lambda: os.link(f'{d}/nope', f'{d}/x')))
    os.symlink('a', f'{d}/sl')
    say('link to symlink', err(lambda: os.link(f'{d}/sl', f'{d}/sl2')) + ' ' + desc(f'{d}/sl2'))


def sparse(d):
    f = f'{d}/sparse'
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    far = 5 * 2**30 + 7
    os.pwrite(fd, b'START', 0)
    say('write past 4 GiB', str(os.pwrite(fd, b'END', far)))
    st = os.fstat(fd)
    say('size, sparse', f'{st.st_size} {st.st_blocks < 1024}')
    say('read the hole', repr(os.pread(fd, 4, 4 * 2**30)))
    say('read the end', repr(os.pread(fd, 8, far)))
    os.ftruncate(fd, 6 * 2**30)
    say('truncate to 6 GiB', f'{os.fstat(fd).st_size} {os.fstat(fd).st_blocks < 1024}')
    say('SEEK_DATA from 1 MiB', err(lambda: str(os.lseek(fd, 2**20, os.SEEK_DATA))))
    say('SEEK_HOLE from 0', err(lambda: str(os.lseek(fd, 0, os.SEEK_HOLE))))
    say('posix_fallocate 1 MiB at the end', err(lambda: os.posix_fallocate(fd, 6 * 2**30, 2**20)) + f' {os.fstat(fd).st_size}')
    g = os.open(f'{d}/alloc', os.O_RDWR | os.O_CREAT, 0o644)

    def fallocate(mode, off, n):
        check(libc.fallocate(g, mode, ctypes.c_long(off), ctypes.c_long(n)))
    say('fallocate 1 MiB', err(lambda: fallocate(0, 0, 2**20)) + f' {os.fstat(g).st_size} {os.fstat(g).st_blocks >= 2048}')
    say('fallocate KEEP_SIZE', err(lambda: fallocate(1, 2**20, 2**20)) + f' {os.fstat(g).st_size}')
    os.close(g)
    os.close(fd)
    os.unlink(f)


def misc(d):
    import fcntl
    import mmap
    import struct
    f = f'{d}/f'
    write(f, b'0123456789')
    # A file capability (as setcap cap_net_raw+ep writes it: VFS_CAP_REVISION_2).
    cap = struct.pack('<IIIII', 0x02000001, 1 << 13, 1 << 13, 0, 0)
    say('security.capability', err(lambda: os.setxattr(f, 'security.capability', cap)) + ' ' + err(lambda: os.getxattr(f, 'security.capability').hex()))
    say('capability dropped by write', err(lambda: write(f, b'x', os.O_WRONLY)) + ' ' + err(lambda: os.getxattr(f, 'security.capability').hex()))
    say('trusted.*', err(lambda: os.setxattr(f, 'trusted.t', b'v')) + ' ' + err(lambda: os.getxattr(f, 'trusted.t').decode()))
    say('trusted.* as 1000', as_user(lambda: os.getxattr(f, 'trusted.t').decode()))
    say('user.* on a symlink', err(lambda: (os.symlink('f', f'{d}/l'), os.setxattr(f'{d}/l', 'user.x', b'1', follow_symlinks=False))[1]))
    say('user.* on a fifo', err(lambda: (os.mkfifo(f'{d}/p'), os.setxattr(f'{d}/p', 'user.x', b'1'))[1]))
    say('xattr value 64 KiB', err(lambda: os.setxattr(f, 'user.big', b'v' * 65536)))
    say('xattr missing', err(lambda: os.getxattr(f, 'user.none')))
    # Shared writable mmap: what is stored through the map is what read() sees.
    g = f'{d}/m'
    write(g, b'\0' * 8192)
    fd = os.open(g, os.O_RDWR)
    m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[100:105] = b'mmap!'
    m.flush()
    m.close()
    os.close(fd)
    say('shared mmap write', repr(open(g, 'rb').read()[100:105]))
    # POSIX record locks between two processes, and flock.
    fd = os.open(f, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 5, 0)
    say('fcntl lock held elsewhere', as_user(lambda: lock_other(f), 0, 0))
    fcntl.lockf(fd, fcntl.LOCK_UN, 5, 0)
    say('fcntl lock after release', as_user(lambda: lock_other(f), 0, 0))
    fcntl.flock(fd, fcntl.LOCK_EX)
    say('flock held elsewhere', as_user(lambda: flock_other(f), 0, 0))
    os.close(fd)
    # O_TMPFILE, and linking it in; copy_file_range.
    def tmpfile():
        t = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
        os.write(t, b'anon')
        r = f'nlink={os.fstat(t).st_nlink} ' + os.pread(t, 4, 0).decode()
        os.close(t)
        return r
    say('O_TMPFILE', err(tmpfile))
    def cfr():
        return with_fd(f, os.O_RDONLY, lambda a: with_fd(f'{d}/copy', os.O_WRONLY | os.O_CREAT, lambda b: str(os.copy_file_range(a, b, 4))))
    say('copy_file_range', err(cfr) + ' ' + cat(f'{d}/copy'))


def writes(d):
    """Writes through handles of every kind: partial pages through a write-only one, past the end
    while another reads, O_APPEND from two, a write-only file's owner, ftruncate between writes
    (what a writeback cache in the kernel would have to keep: it reads to fill pages and appends
    at the size it keeps)."""
    def sha(p):
        return hashlib.sha256(open(p, 'rb').read()).hexdigest()[:16] if os.path.exists(p) else 'ENOENT'
    f = f'{d}/f'
    write(f, bytes(range(256)) * 40)  # 10240 bytes: parts of three pages
    say('partial-page write through O_WRONLY', err(lambda: with_fd(f, os.O_WRONLY, lambda fd: os.pwrite(fd, b'abc', 5000) and None)))
    say('content', f'{desc(f)} {sha(f)}')
    # Seen through another descriptor while the writer still holds its own open.
    def both_fds():
        w = os.open(f, os.O_WRONLY)
        try:
            os.pwrite(w, b'XYZ', 10239)
            return f'{os.fstat(w).st_size} {os.pread(os.open(f, os.O_RDONLY), 8, 10236)!r}'
        finally:
            os.close(w)
    say('write past the end, read by another fd', err(both_fds))
    say('content after', f'{desc(f)} {sha(f)}')
    # O_APPEND: every write at the end, through two descriptors, pwrite too (Linux appends it).
    a = f'{d}/a'
    write(a, b'start\n')
    def appends():
        x = os.open(a, os.O_WRONLY | os.O_APPEND)
        y = os.open(a, os.O_RDWR | os.O_APPEND)
        try:
            os.write(x, b'one\n')
            os.write(y, b'two\n')
            os.pwrite(x, b'three\n', 0)
            os.write(x, b'four\n')
            return f'{os.lseek(y, 0, os.SEEK_CUR)} {os.fstat(x).st_size}'
        finally:
            os.close(x)
            os.close(y)
    say('O_APPEND through two fds, pwrite', err(appends))
    say('appended', cat(a).replace('\n', '|'))
    # A file its owner may write but not read (0200): opened write-only by uid 1000, partly overwritten.
    wo = f'{d}/wo'
    write(wo, b'0123456789')
    os.chown(wo, USER, USER)
    os.chmod(wo, 0o200)
    say('write-only file, partial write by its owner', as_user(lambda: with_fd(wo, os.O_WRONLY, lambda fd: os.pwrite(fd, b'ab', 3) and None)))
    say('read it as 1000', as_user(lambda: with_fd(wo, os.O_RDONLY, lambda fd: os.read(fd, 10).decode())))
    os.chmod(wo, 0o600)
    say('write-only file after', cat(wo))
    # Sizes the kernel keeps against what the file has: ftruncate through another fd between writes.
    t = f'{d}/t'
    def trunc_between():
        w = os.open(t, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.write(w, b'a' * 9000)
            with_fd(t, os.O_WRONLY, lambda fd: os.ftruncate(fd, 100))
            os.write(w, b'b')
            return f'{os.fstat(w).st_size}'
        finally:
            os.close(w)
    say('ftruncate through another fd between writes', err(trunc_between))
    say('truncated content', f'{desc(t)} {sha(t)}')
    say('ftruncate same size', moved(t, lambda: trunc_fd(t, os.stat(t).st_size), ('st_ctime_ns', 'st_mtime_ns')))

def lock_other(p):
    import fcntl
    return with_fd(p, os.O_RDWR, lambda fd: (fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 0), 'got it')[1])


def flock_other(p):
    import fcntl
    return with_fd(p, os.O_RDWR, lambda fd: (fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB), 'got it')[1])


# Files the commit has (made beforehand in the reference directory, with the same
# content, modes and owners): what changes to them do before and after copy-up.
BASE_FILES = {'c1': 0o644, 'c2': 0o4755, 'c3': 0o2755, 'c4': 0o644, 'c5': 0o644, 'c6': 0o600, 'c7': 0o644, 'c8': 0o644}


def basefiles(d):
    # The directory's mtime set while it is still the commit's: the copy-ups into it (its copy
    # in the layer made, then one rename after another) must keep it. (A time whose double of
    # seconds is a hair below it: node:fs, which cuts to microseconds, set it 1 µs early.)
    utimensat(d, (1796619285, 97000000), (1796619285, 97000000))
    before = os.lstat(d).st_mtime_ns
    for n in ('c1', 'c2', 'c5'):
        write(f'{d}/{n}', b'more\n', os.O_WRONLY | os.O_APPEND)
    say('dir mtime over copy-ups', 'same' if os.lstat(d).st_mtime_ns == before else f'moved by {os.lstat(d).st_mtime_ns - before} ns')
    say('stat', desc(f'{d}/c1'))
    say('chmod', moved(f'{d}/c1', lambda: os.chmod(f'{d}/c1', 0o640)) + ' ' + desc(f'{d}/c1'))
    say('chown', moved(f'{d}/c2', lambda: os.chown(f'{d}/c2', 7, 8)) + ' ' + desc(f'{d}/c2'))
    say('chown -1 -1 setgid', moved(f'{d}/c3', lambda: os.chown(f'{d}/c3', -1, -1)) + ' ' + desc(f'{d}/c3'))
    say('utime', moved(f'{d}/c4', lambda: os.utime(f'{d}/c4', (10, 20))) + ' ' + str(os.stat(f'{d}/c4').st_mtime_ns))
    say('utime omit', moved(f'{d}/c4', lambda: utimensat(f'{d}/c4', (0, UTIME_OMIT), (0, UTIME_OMIT))))
    say('setxattr', moved(f'{d}/c5', lambda: os.setxattr(f'{d}/c5', 'user.k', b'v')))
    say('chmod after setxattr', moved(f'{d}/c5', lambda: os.chmod(f'{d}/c5', 0o600)) + ' ' + desc(f'{d}/c5'))
    say('truncate', moved(f'{d}/c6', lambda: os.truncate(f'{d}/c6', 1), ('st_ctime_ns', 'st_mtime_ns')) + ' ' + desc(f'{d}/c6'))
    say('link', moved(f'{d}/c7', lambda: os.link(f'{d}/c7', f'{d}/c7b')) + ' ' + desc(f'{d}/c7'))
    say('unlink other name', moved(f'{d}/c7', lambda: os.unlink(f'{d}/c7b')) + ' ' + desc(f'{d}/c7'))
    before = os.lstat(f'{d}/c8').st_ctime_ns
    tick()
    os.rename(f'{d}/c8', f'{d}/c8c')
    say('rename', ('moved ' if os.lstat(f'{d}/c8c').st_ctime_ns != before else 'same ') + desc(f'{d}/c8c'))


# Hard links the commit has: k1 k2 k3 one file, m1 m2 another (made beforehand in the
# reference directory with link()).
def baselinks(d):
    def group(names):
        st = [os.lstat(f'{d}/{n}') for n in names]
        return f'inodes={len({s.st_ino for s in st})} nlink=' + ','.join(str(s.st_nlink) for s in st)
    say('k group', group(['k1', 'k2', 'k3']))
    say('m group', group(['m1', 'm2']))
    say('unlink m2', err(lambda: os.unlink(f'{d}/m2')) + ' ' + group(['m1']))
    say('link k4 to k1', err(lambda: os.link(f'{d}/k1', f'{d}/k4')) + ' ' + group(['k1', 'k2', 'k3', 'k4']))
    say('write through k2', err(lambda: write(f'{d}/k2', b'new', os.O_WRONLY | os.O_TRUNC)) + ' ' + group(['k1', 'k2', 'k3', 'k4']))
    say('content of k1', cat(f'{d}/k1'))


SCENARIOS = {f.__name__: f for f in (sockets, ctime, chown, rename, remove, limits, truncate, hardlinks, basefiles, baselinks, sparse, misc, writes)}

if __name__ == '__main__':
    name, where = sys.argv[1], sys.argv[2]
    os.umask(0o022)
    try:
        SCENARIOS[name](where)
    except Exception as e:  # noqa: BLE001 - the comparison shows where it stopped
        say('scenario stopped', f'{type(e).__name__} {errno.errorcode.get(getattr(e, "errno", None) or 0, "")}')
