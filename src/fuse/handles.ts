import { FuseError } from './binding.js';

/** Open file handles by number. Numbers are never reused within a mount. */
export class HandleTable<T> {
  private next = 1;
  private readonly open = new Map<number, T>();

  add(h: T): number {
    const fh = this.next++;
    this.open.set(fh, h);
    return fh;
  }

  get(fh: number): T {
    const h = this.open.get(fh);
    if (h === undefined) throw new FuseError('EBADF');
    return h;
  }

  remove(fh: number): T | undefined {
    const h = this.open.get(fh);
    this.open.delete(fh);
    return h;
  }

  get size(): number {
    return this.open.size;
  }
}
