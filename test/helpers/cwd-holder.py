# A process that works in a mount's directory while the daemon serving it is killed:
# chdir DIR, print "ready", wait for a line on stdin (the test has the daemon killed and the
# mount back meanwhile), then try by relative path, by the directory's path, and relative
# again after a chdir by that path. Prints one JSON object: what each try gave ("ok ..." or
# the errno name).
# Usage: cwd-holder.py DIR
import errno
import json
import os
import sys

d = sys.argv[1]
os.chdir(d)
print('ready', flush=True)
sys.stdin.readline()


def attempt(fn):
    try:
        return f'ok {fn()}'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def read(p):
    with open(p) as f:
        return f.read().strip()


def write(p):
    with open(p, 'w') as f:
        f.write('written\n')
    return read(p)


out = {
    'relative read': attempt(lambda: read('file')),
    'relative listdir': attempt(lambda: sorted(os.listdir('.'))),
    'getcwd': attempt(os.getcwd),
    'read by path': attempt(lambda: read(f'{d}/file')),
}
os.chdir(d)
out['after chdir by path: relative read'] = attempt(lambda: read('file'))
out['after chdir by path: relative write'] = attempt(lambda: write('new'))
print(json.dumps(out), flush=True)
