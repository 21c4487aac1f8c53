// Bounded caches that allocate as they fill. lru-cache's `max` preallocates its
// arrays: 5 ms for 65,536 entries, paid at every mount's start. Bounding by
// `maxSize` with every entry counted as 1 keeps the same limit without that.
import { LRUCache } from 'lru-cache';

export function lru<K extends {}, V extends {}>(entries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: entries, sizeCalculation: () => 1 });
}
