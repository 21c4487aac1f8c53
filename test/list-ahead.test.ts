// Listings made ahead of the kernel (src/fuse/ll/list-ahead.ts), driven by hand: which
// directories get listed ahead, in what order, and how far, before and after the mount counts
// as walked. (The real mount's side is in ll-mount.test.ts: one listing per directory.)
import { describe, expect, it } from 'vitest';
import { ListAhead, type Built } from '../src/fuse/ll/list-ahead.js';
import { WalkOrder } from '../src/fuse/ll/walk-order.js';

/**
 * A tree of `fanout` subdirectories per directory, `depth` levels below the root. Listings
 * finish when `settle` is called, all that are pending, in the order given (newest first
 * when `reverse`), as the disk may finish them.
 */
function fakeMount(depth: number, fanout: number, window?: number) {
  const built: string[] = [];
  const offered: string[] = [];
  let waiting: Array<() => void> = [];
  const inFlight = new Set<string>();
  const subdirs = (path: string): string[] => {
    const level = path === '/' ? 0 : path.split('/').length - 1;
    return level >= depth ? [] : Array.from({ length: fanout }, (_, i) => `d${i}`);
  };
  const ahead = new ListAhead((path) => {
    built.push(path);
    inFlight.add(path);
    return new Promise<Built>((res) => waiting.push(() => {
      inFlight.delete(path);
      res({ listing: Buffer.from(path), subdirs: subdirs(path) });
    }));
  }, (path) => {
    offered.push(path);
    return true;
  }, true, window);
  const settle = async (reverse = false): Promise<void> => {
    for (let round = 0; round < 1000 && waiting.length > 0; round++) {
      const now = reverse ? waiting.reverse() : waiting;
      waiting = [];
      for (const w of now) w();
      // Let the listings' then/finally callbacks run (each pumps the next ones).
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
  };
  return { ahead, built, offered, settle, inFlight };
}

describe('ListAhead', () => {
  it('lists one level below what the kernel entered until it has entered 16 directories', async () => {
    const { ahead, built, settle } = fakeMount(4, 3);
    void ahead.asked('/');
    await settle();
    expect(built.sort()).toEqual(['/', '/d0', '/d1', '/d2']);
    ahead.visited('/d1');
    await settle();
    expect(built.filter((p) => p.startsWith('/d1/'))).toHaveLength(3);
    expect(built.filter((p) => p.split('/').length > 3)).toEqual([]);
  });

  it('lists down the subtrees once the mount is walked, in walk order, at most 256 listings ahead of the kernel', async () => {
    // 1 + 4 + 16 + 64 + 256 + 1024 directories.
    const { ahead, built, offered, settle } = fakeMount(5, 4);
    void ahead.asked('/');
    await settle();
    // The kernel enters the first 16 directories of a depth-first walk.
    const walk: string[] = [];
    const order = (p: string, level: number): void => {
      walk.push(p);
      if (level < 5) for (let i = 0; i < 4; i++) order(`${p === '/' ? '' : p}/d${i}`, level + 1);
    };
    order('/', 0);
    for (const p of walk.slice(1, 16)) {
      ahead.visited(p);
      await settle(true);
    }
    // Never more than 256 listings given ahead and not entered (+ the in-flight ones).
    const notEntered = offered.filter((p) => !walk.slice(0, 16).includes(p));
    expect(notEntered.length).toBeGreaterThan(100);
    expect(notEntered.length).toBeLessThanOrEqual(256 + 8);
    // Listed deeper than one level below anything the kernel entered.
    expect(built.some((p) => p.split('/').length === 6)).toBe(true);
    // Taken in the walk's order, though the listings finished newest first: the next
    // directories the walk enters are the ones listed, not a far subtree.
    const next = walk.slice(16, 16 + 100);
    expect(next.filter((p) => !built.includes(p))).toEqual([]);
    // The rest follows as the kernel enters what was listed.
    for (const p of walk.slice(16)) {
      if (built.includes(p)) ahead.visited(p);
      else void ahead.asked(p);
      await settle();
    }
    expect(new Set(built).size).toBe(walk.length);
    expect(built).toHaveLength(walk.length);
  });
});

describe('ListAhead window', () => {
  it('does not count a listing the kernel asked for while it was being made as one ahead of it', async () => {
    // A window of 4 listings ahead; the kernel overtakes more than that while they are made.
    const { ahead, built, offered, settle, inFlight } = fakeMount(4, 4, 4);
    const walk: string[] = [];
    const order = (p: string, level: number): void => {
      walk.push(p);
      if (level < 4) for (let i = 0; i < 4; i++) order(`${p === '/' ? '' : p}/d${i}`, level + 1);
    };
    order('/', 0);
    const entered = new Set<string>();
    const enter = (p: string): void => {
      entered.add(p);
      if (offered.includes(p)) ahead.visited(p);
      else void ahead.asked(p);
    };
    for (const p of walk.slice(0, 16)) {
      enter(p);
      await settle();
    }
    // Walked, the window full. Each time the kernel enters a listing given ahead, one more is
    // made, and the kernel asks for it before it is done.
    let overtaken = 0;
    for (let round = 0; round < 6; round++) {
      const next = offered.find((q) => !entered.has(q));
      if (next) enter(next);
      for (const p of [...inFlight]) {
        entered.add(p);
        void ahead.asked(p);
        overtaken++;
      }
      await settle();
    }
    expect(overtaken).toBeGreaterThanOrEqual(4);
    // The kernel enters every listing given ahead: the window is open again.
    const before = built.length;
    for (const p of offered.filter((q) => !entered.has(q))) enter(p);
    await settle();
    expect(built.length).toBeGreaterThan(before);
  });
});

describe('WalkOrder', () => {
  it('gives paths in depth-first order of their keys, whatever the order they came in', () => {
    const q = new WalkOrder();
    const items: Array<[string, number[]]> = [['/b', [1]], ['/a/y', [0, 1]], ['/c', [2]], ['/a', [0]], ['/a/x/1', [0, 0, 0]], ['/a/x', [0, 0]], ['/b/z', [1, 0]]];
    for (const [p, k] of items) q.push(p, k);
    const out: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.path);
    expect(out).toEqual(['/a', '/a/x', '/a/x/1', '/a/y', '/b', '/b/z', '/c']);
    expect(q.size).toBe(0);
  });
});
