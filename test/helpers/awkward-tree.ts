// A tree with everything that is hard to store: special mode bits, foreign
// owners, xattrs (security.capability too), every kind of symlink, hardlinks,
// empty files and dirs, odd and long names, a deep path, a multi-MB file.
import fs from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import xattr from '@napi-rs/xattr';

/** vfs_cap_data revision 2 granting CAP_NET_BIND_SERVICE (what `setcap cap_net_bind_service+ep` writes). */
export const CAP_NET_BIND = Buffer.from('0100000200040000000000000000000000000000', 'hex');

export const LONG_NAME = 'L'.repeat(251) + '.txt';
export const BIG_FILE_SIZE = 5 * 1024 * 1024 + 123;

export function buildAwkwardTree(root: string): void {
  const p = (...parts: string[]) => join(root, ...parts);
  fs.mkdirSync(root, { recursive: true });
  fs.chmodSync(root, 0o755);
  const file = (rel: string, content: string | Buffer, mode = 0o644, uid = 0, gid = 0) => {
    fs.writeFileSync(p(rel), content);
    fs.chownSync(p(rel), uid, gid);
    fs.chmodSync(p(rel), mode); // after chown, which clears setuid/setgid
  };
  file('hello.txt', 'hello\n');
  file('setuid', '#!/bin/sh\necho hi\n', 0o4755);
  file('setgid', '#!/bin/sh\n', 0o2755, 0, 50);
  file('owned-by-1000', 'mine\n', 0o640, 1000, 1000);
  file('owned-by-nobody', 'nobody\n', 0o600, 65534, 65534);
  file('empty', '');
  file('with xattrs', 'x\n');
  xattr.setAttributeSync(p('with xattrs'), 'user.foo', Buffer.from('bar'));
  xattr.setAttributeSync(p('with xattrs'), 'user.binary', Buffer.from([0, 1, 2, 255]));
  file('capable', '#!/bin/sh\n', 0o755);
  xattr.setAttributeSync(p('capable'), 'security.capability', CAP_NET_BIND);
  fs.mkdirSync(p('sticky'));
  fs.chmodSync(p('sticky'), 0o1777);
  fs.mkdirSync(p('emptydir'));
  fs.mkdirSync(p('private'));
  fs.chownSync(p('private'), 1000, 100);
  fs.chmodSync(p('private'), 0o2750);
  xattr.setAttributeSync(p('private'), 'user.dir', Buffer.from('x'));
  fs.symlinkSync('hello.txt', p('rel-link'));
  fs.symlinkSync('/etc/passwd', p('abs-link'));
  fs.symlinkSync('does/not/exist', p('dangling'));
  fs.symlinkSync('sticky', p('dir-link'));
  fs.lchownSync(p('dir-link'), 1000, 1000);
  fs.linkSync(p('hello.txt'), p('hardlink-to-hello'));
  file('name with spaces', 'spaces\n');
  file('new\nline', 'newline\n');
  file('ünïcødé-名前-🙂', 'unicode\n');
  file(LONG_NAME, 'long name\n');
  let deep = root;
  for (let i = 0; i < 40; i++) deep = join(deep, `level-${i}`);
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(join(deep, 'bottom'), 'deep\n');
  fs.writeFileSync(p('big.bin'), randomBytes(BIG_FILE_SIZE));
}

export interface EntryFacts { type: string; mode: number; uid: number; gid: number; size: number; sha?: string; target?: string; xattrs: Record<string, string> }

/** Everything about a tree that a commit must keep (not times), keyed by relative path. */
export function describeTree(root: string, opts: { owners?: boolean; xattrs?: boolean; modeMask?: number } = {}): Record<string, EntryFacts> {
  const out: Record<string, EntryFacts> = {};
  const walk = (rel: string) => {
    const full = rel ? join(root, rel) : root;
    const st = fs.lstatSync(full);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
    const xa: Record<string, string> = {};
    if (opts.xattrs !== false) {
      for (const n of xattr.listAttributesSync(full).sort()) {
        if (n === 'user.ostreemeta') continue;
        xa[n] = Buffer.from(xattr.getAttributeSync(full, n) ?? Buffer.alloc(0)).toString('hex');
      }
    }
    out[rel || '/'] = {
      type,
      mode: st.mode & (opts.modeMask ?? 0o7777),
      uid: opts.owners === false ? -1 : st.uid,
      gid: opts.owners === false ? -1 : st.gid,
      size: type === 'file' ? st.size : 0,
      ...(type === 'file' ? { sha: createHash('sha256').update(fs.readFileSync(full)).digest('hex') } : {}),
      ...(type === 'link' ? { target: fs.readlinkSync(full) } : {}),
      xattrs: xa,
    };
    if (type === 'dir') for (const n of fs.readdirSync(full).sort()) walk(rel ? join(rel, n) : n);
  };
  walk('');
  return out;
}
