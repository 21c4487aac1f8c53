#!/usr/bin/env python3
# What systemd's shutdown does on a booted root: it stops every process (the daemon
# serving / too) and then walks paths on /. Run as: stopped-daemon-walk.py MOUNT PID.
# Chroots into MOUNT, walks once, stops PID, walks again in a thread and prints the
# second walk's answers, or HUNG if it waited for the stopped daemon; then resumes PID.
import os, signal, sys, threading, time

mnt, pid = sys.argv[1], int(sys.argv[2])

def walk():
    # systemd's in_initrd() (a name not there), stat of /proc/1/root (through /proc), a directory.
    return [os.access('/etc/initrd-release', os.F_OK), os.stat('/proc/self/root').st_ino, oct(os.stat('/etc').st_mode)]

os.chroot(mnt)
os.chdir('/')
first = walk()
time.sleep(2)  # past the one-second entry and attribute timeouts of a writable mount
os.kill(pid, signal.SIGSTOP)
res = {}
t = threading.Thread(target=lambda: res.setdefault('r', walk()), daemon=True)
t.start()
t.join(8)
# Whether it waited for the stopped daemon is known now: once resumed, the daemon answers.
hung = t.is_alive()
os.kill(pid, signal.SIGCONT)
t.join(10)
print(first, 'HUNG' if hung else res.get('r'), flush=True)
