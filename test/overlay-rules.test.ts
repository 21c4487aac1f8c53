// The layer's rules as pure decisions: which paths take writes, which changes
// are refused with EROFS or EXDEV, who owns a new entry, how a metadata record
// shows. (overlay-posix.test.ts checks the same through a real mount.)
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, EVERY_PATH, Rules, volatileDirOf, changeRefusal, dirRenameRefusal, linkRefusal, renameRefusal } from '../src/overlay/rules.js';
import { ownerOfNew } from '../src/overlay/new-entries.js';
import { chmodChange, chownChange, removexattrChange, setxattrChange, utimensChange, withOverride, XATTR_CREATE, XATTR_REPLACE } from '../src/overlay/meta-changes.js';
import { checkNameLength } from '../src/overlay/names.js';
import type { MetaOverride } from '../src/overlay/layer-db.js';

const rules = new Rules(DEFAULT_RULES);
const codeOf = (f: () => unknown): unknown => { try { f(); return null; } catch (e) { return (e as { code?: unknown }).code; } };

describe('which paths take writes (the default rules)', () => {
  it('takes writes below /var, /home, /root, /tmp and /srv, but not the directories themselves', () => {
    for (const p of ['/var/log/x', '/var/a', '/home/alice/.profile', '/root/.bashrc', '/tmp/x', '/srv/www/index.html']) expect(rules.writable(p), p).toBe(true);
    for (const p of ['/var', '/home', '/tmp', '/usr/bin/sh', '/etc', '/variable', '/']) expect(rules.writable(p), p).toBe(false);
  });

  it('takes writes below /run and /tmp whatever the rules say (volatile: see VOLATILE_DIRS)', () => {
    const none = new Rules([]);
    for (const p of ['/run/adduser', '/run/user/1000/bus', '/tmp/x']) expect(none.writable(p), p).toBe(true);
    for (const p of ['/run', '/tmp', '/running', '/tmpx/a']) expect(none.writable(p), p).toBe(false);
    expect(volatileDirOf('/run/lock/x')).toBe('/run');
    expect(volatileDirOf('/var/run')).toBeNull();
  });

  it('a throwaway layer (EVERY_PATH) takes writes everywhere, / itself included; a rename there leaves no writable set', () => {
    const all = new Rules(EVERY_PATH);
    for (const p of ['/', '/usr', '/usr/bin/dpkg', '/etc/apt/sources.list.d/x.list', '/var/lib/dpkg/status', '/opt-new', '/boot/vmlinuz']) expect(all.writable(p), p).toBe(true);
    expect(renameRefusal(all, '/usr/bin/x.dpkg-new', '/usr/bin/x')).toBeNull();
    expect(linkRefusal(all, '/usr/lib/a', '/etc/b')).toBeNull();
  });

  it('takes in /etc exactly what the account tools write', () => {
    for (const f of ['passwd', 'shadow', 'group', 'gshadow', 'subuid', 'subgid']) {
      for (const p of [`/etc/${f}`, `/etc/${f}-`, `/etc/${f}+`, `/etc/${f}.1234`, `/etc/${f}.lock`, `/etc/${f}.edit`]) expect(rules.writable(p), p).toBe(true);
      expect(rules.writable(`/etc/${f}.d/x`), `${f}.d/x`).toBe(false);
    }
    for (const p of ['/etc/.pwd.lock', '/etc/nshadow', '/etc/npasswd', '/etc/hostname', '/etc/machine-id', '/etc/resolv.conf', '/etc/localtime', '/etc/adjtime']) expect(rules.writable(p), p).toBe(true);
    for (const p of ['/etc/os-release', '/etc/passwdx', '/etc/ssh/sshd_config', '/etc/hosts']) expect(rules.writable(p), p).toBe(false);
  });

  it('matches * within a segment, ** across segments (also none), ? one character', () => {
    const r = new Rules(['/opt/*/data', '/srv/**/cache', '/x?']);
    expect(r.writable('/opt/app/data')).toBe(true);
    expect(r.writable('/opt/a/b/data')).toBe(false);
    expect(r.writable('/srv/cache')).toBe(true);
    expect(r.writable('/srv/a/b/cache')).toBe(true);
    expect(r.writable('/x1')).toBe(true);
    expect(r.writable('/x/')).toBe(false);
  });
});

describe('EROFS and EXDEV', () => {
  it('refuses a change outside the writable set with EROFS', () => {
    expect(changeRefusal(rules, '/usr/bin/sh')).toBe('EROFS');
    expect(changeRefusal(rules, '/var/x')).toBeNull();
  });

  it('links: EROFS for a new name outside the set, EXDEV for a file outside it', () => {
    expect(linkRefusal(rules, '/var/a', '/usr/a')).toBe('EROFS');
    expect(linkRefusal(rules, '/usr/bin/sh', '/var/sh')).toBe('EXDEV');
    expect(linkRefusal(rules, '/usr/bin/sh', '/usr/sh')).toBe('EROFS');
    expect(linkRefusal(rules, '/etc/passwd.1', '/etc/passwd.lock')).toBeNull();
  });

  it('renames: EROFS for a source outside the set, EXDEV for a target outside it, EXDEV for a base directory', () => {
    expect(renameRefusal(rules, '/usr/bin/sh', '/var/sh')).toBe('EROFS');
    expect(renameRefusal(rules, '/usr/bin/sh', '/usr/sh')).toBe('EROFS');
    expect(renameRefusal(rules, '/var/a', '/usr/a')).toBe('EXDEV');
    expect(renameRefusal(rules, '/etc/passwd+', '/etc/passwd')).toBeNull();
    expect(dirRenameRefusal(true)).toBe('EXDEV');
    expect(dirRenameRefusal(false)).toBeNull();
  });

  it('refuses names over 255 bytes with ENAMETOOLONG', () => {
    expect(codeOf(() => checkNameLength(`/var/${'a'.repeat(255)}`))).toBeNull();
    expect(codeOf(() => checkNameLength(`/var/${'a'.repeat(256)}`))).toBe('ENAMETOOLONG');
    expect(codeOf(() => checkNameLength(`/var/${'é'.repeat(128)}`))).toBe('ENAMETOOLONG');
  });
});

describe('new entries and metadata records', () => {
  it('gives a new entry the caller, or the group of a setgid parent', () => {
    const daemon = { uid: 0, gid: 0 };
    expect(ownerOfNew({ mode: 0o40755, gid: 50 }, { uid: 1000, gid: 100 }, daemon)).toEqual({ uid: 1000, gid: 100, sgid: false, differs: true });
    expect(ownerOfNew({ mode: 0o42775, gid: 50 }, { uid: 1000, gid: 100 }, daemon)).toEqual({ uid: 1000, gid: 50, sgid: true, differs: true });
    expect(ownerOfNew({ mode: 0o40755, gid: 50 }, { uid: 0, gid: 0 }, daemon).differs).toBe(false);
  });

  const record = (): MetaOverride => ({ uid: 0, gid: 0, mode: 0o100644, xattrs: [['user.a', Buffer.from('1')]], mtime: null, atime: null, ctime: null });

  it('records chmod, chown and utimens of a base entry', () => {
    const m = record();
    chmodChange(0o4750).base(m);
    expect(m.mode).toBe(0o104750);
    chownChange(1000, null).base(m);
    expect([m.uid, m.gid]).toEqual([1000, 0]);
    utimensChange(5000, 'omit', 9000).base(m);
    expect([m.atime, m.mtime]).toEqual([5000, null]);
    utimensChange('omit', 'now', 9000).base(m);
    expect([m.atime, m.mtime]).toEqual([5000, 9000]);
  });

  it('records xattr changes with setxattr(2) semantics', () => {
    const m = record();
    expect(codeOf(() => setxattrChange('user.a', Buffer.from('2'), XATTR_CREATE).base(m))).toBe('EEXIST');
    expect(codeOf(() => setxattrChange('user.b', Buffer.from('2'), XATTR_REPLACE).base(m))).toBe('ENODATA');
    setxattrChange('user.a', Buffer.from('2'), XATTR_REPLACE).base(m);
    setxattrChange('user.b', Buffer.from('3'), 0).base(m);
    expect(m.xattrs.map(([k, v]) => `${k}=${v}`)).toEqual(['user.a=2', 'user.b=3']);
    removexattrChange('user.a').base(m);
    expect(codeOf(() => removexattrChange('user.a').base(m))).toBe('ENODATA');
    expect(m.xattrs.map(([k]) => k)).toEqual(['user.b']);
  });

  it('shows a record over the commit\'s attributes', () => {
    const s = { uid: 0, gid: 0, mode: 0o100644, mtime: 0, atime: 0, ctime: 0, size: 3 };
    expect(withOverride(s, undefined)).toBe(s);
    expect(withOverride(s, { ...record(), uid: 7, mode: 0o100600, mtime: 4000 })).toEqual({ ...s, uid: 7, mode: 0o100600, mtime: 4000, atime: 0, ctime: 4000 });
  });
});
