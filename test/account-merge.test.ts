// Account files merge by entry on upgrade (unit level; upgrade.test.ts does it for real).
import { describe, expect, it } from 'vitest';
import { mergeAccounts } from '../src/roots/account-merge.js';

const OLD_PASSWD = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\n';

describe('merging account files by entry', () => {
  it('adds the users a new OS version adds and keeps local ones (OSTree would drop the new ones)', () => {
    const upstream = OLD_PASSWD + 'netd:x:998:998::/:/bin/false\n';
    const local = OLD_PASSWD + 'alice:x:1000:1000::/home/alice:/bin/sh\n';
    const m = mergeAccounts('passwd', OLD_PASSWD, upstream, local);
    expect(m.text).toBe(local + 'netd:x:998:998::/:/bin/false\n');
    expect(m.added).toEqual(['netd']);
    expect(m.clashes).toEqual([]);
  });

  it('keeps local edits, takes upstream edits of entries not edited here, drops entries upstream removed', () => {
    const upstream = 'root:x:0:0:root:/root:/bin/bash\n';
    const local = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:edited:/:/bin/false\n';
    const m = mergeAccounts('passwd', OLD_PASSWD, upstream, local);
    // root unchanged here → upstream's shell; daemon removed upstream but edited here → kept.
    expect(m.text).toBe('root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:edited:/:/bin/false\n');
    const m2 = mergeAccounts('passwd', OLD_PASSWD, upstream, OLD_PASSWD);
    expect(m2.text).toBe(upstream);
  });

  it('merges group member lists', () => {
    const old = 'users:x:100:bob\n';
    const upstream = 'users:x:100:bob,netd\n';
    const local = 'users:x:100:bob,alice\n';
    expect(mergeAccounts('group', old, upstream, local).text).toBe('users:x:100:bob,alice,netd\n');
    // A member upstream removed goes, unless it was added here.
    expect(mergeAccounts('group', 'g:x:5:a,b\n', 'g:x:5:a\n', 'g:x:5:a,b,c\n').text).toBe('g:x:5:a,c\n');
    // gshadow keeps its members in the same field.
    expect(mergeAccounts('gshadow', 'users:!::bob\n', 'users:!::bob,netd\n', 'users:!::bob,alice\n').text).toBe('users:!::bob,alice,netd\n');
  });

  it('keeps the local entry on a clash over one name, and reports it', () => {
    const upstream = OLD_PASSWD + 'alice:x:999:999:system alice:/:/bin/false\n';
    const local = OLD_PASSWD + 'alice:x:1000:1000::/home/alice:/bin/sh\n';
    const m = mergeAccounts('passwd', OLD_PASSWD, upstream, local);
    expect(m.text).toBe(local);
    expect(m.clashes).toEqual(["passwd: 'alice' was added both here and in the new commit; kept the local entry"]);
    const both = mergeAccounts('passwd', OLD_PASSWD, OLD_PASSWD.replace('/bin/false', '/usr/sbin/nologin'), OLD_PASSWD.replace('daemon:x:1:1::', 'daemon:x:1:1:mine:'));
    expect(both.clashes).toEqual(["passwd: 'daemon' changed both here and in the new commit; kept the local entry"]);
  });
});
