// Generated trees for pull tests: a few thousand files of deterministic
// pseudo-random content (some repeated), mostly under usr/, with symlinks.
import fs from 'node:fs';
import { join } from 'node:path';

export function buildGeneratedTree(root: string, files = 3000): void {
  let seed = 4242;
  const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = next() >>> 24;
    return b;
  };
  const shared = [bytes(3000), bytes(5000), Buffer.from('same text in many files\n')];
  for (let i = 0; i < files; i++) {
    const top = i % 10 === 0 ? 'etc' : 'usr';
    const dir = join(root, top, `d${i % 60}`, `s${i % 7}`);
    fs.mkdirSync(dir, { recursive: true });
    const p = join(dir, `f${i}.bin`);
    fs.writeFileSync(p, i % 25 === 0 ? shared[i % 3]! : bytes(200 + (next() % 12000)));
    fs.chmodSync(p, i % 4 === 0 ? 0o755 : 0o644);
    if (i % 100 === 0) fs.symlinkSync(`f${i}.bin`, join(dir, `link${i}`));
  }
  fs.mkdirSync(join(root, 'empty'), { recursive: true });
}

/** Number of content objects (.file or .filez) in a repository. */
export function countContentObjects(repo: string): number {
  let n = 0;
  const objects = join(repo, 'objects');
  for (const xx of fs.readdirSync(objects)) {
    for (const name of fs.readdirSync(join(objects, xx))) if (name.endsWith('.file') || name.endsWith('.filez')) n++;
  }
  return n;
}

/** Checksums of the content objects in a repository. */
export function contentObjects(repo: string): Set<string> {
  const out = new Set<string>();
  const objects = join(repo, 'objects');
  for (const xx of fs.readdirSync(objects)) {
    for (const name of fs.readdirSync(join(objects, xx))) {
      const m = /^([0-9a-f]{62})\.filez?$/.exec(name);
      if (m) out.add(xx + m[1]);
    }
  }
  return out;
}
