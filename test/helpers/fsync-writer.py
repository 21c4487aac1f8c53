# Writes and fsyncs into DIR, one record at a time, while the daemon serving DIR
# is killed and replaced: prints "done N" once every write of record N has
# returned from fsync. On any error (the mount is dead or being mounted again) it
# waits a little and does record N again from its paths. Stops when STOPFILE exists.
#
# Record N: file w{N % 40} rewritten with data(N); a line "N" appended to log; and
# every 5th record, state replaced by rename of a fsynced temp file.
# Usage: fsync-writer.py DIR STOPFILE
import os
import sys
import time

d, stop = sys.argv[1], sys.argv[2]


def data(n):
    return f'record {n}\n'.encode() * (1 + n % 50)


def write(path, flags, payload):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)


n = 0
while not os.path.exists(stop):
    try:
        write(f'{d}/w{n % 40}', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, data(n))
        write(f'{d}/log', os.O_WRONLY | os.O_CREAT | os.O_APPEND, f'{n}\n'.encode())
        if n % 5 == 0:
            write(f'{d}/state.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, data(n))
            os.rename(f'{d}/state.tmp', f'{d}/state')
    except OSError as e:
        print(f'err {n} {e.strerror}', flush=True)
        time.sleep(0.05)
        continue
    print(f'done {n}', flush=True)
    n += 1
