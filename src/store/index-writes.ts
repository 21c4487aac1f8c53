// Writes to the repo's index that a server makes as it goes (objects found
// good, tree stats), gathered and committed together every half second: a
// request never waits on SQLite's commit, and many writes cost one.
import type { ContentIndex } from './content-index.js';

export class DeferredIndexWrites {
  private pending: Array<(index: ContentIndex) => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly index: () => ContentIndex, private readonly delayMs = 500) {}

  add(write: (index: ContentIndex) => void): void {
    this.pending.push(write);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const writes = this.pending.splice(0);
    try {
      const index = this.index();
      index.batch(() => { for (const w of writes) w(index); });
    } catch {
      // The index is busy or read-only: what was learnt is still known to this process.
    }
  }
}
