// Inode numbers, computed in one place so they are stable: the same path of the
// same commit gets the same number on every mount. A 53-bit hash of the path
// (the root is 1); collisions are possible in principle (~1e-6 for 139k
// entries) and would only confuse tools that compare inode numbers. A regular file
// with several paths in the commit is one inode, numbered by its object instead.

export const ROOT_INO = 1;

export function inodeOf(path: string): number {
  if (path === '/') return ROOT_INO;
  // cyrb53: fast, well-mixed, 53 bits so it is a safe JS integer.
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < path.length; i++) {
    const ch = path.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const ino = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return ino <= ROOT_INO ? ino + 2 : ino;
}

/** The inode of a regular file that has several paths in the commit (link-counts.ts): one for all of them. */
export const linkedFileInode = (checksum: string): number => inodeOf(`\0file\0${checksum}`);
