// What a walk of a commit's mount has read ahead besides listings (list-ahead.ts). Told each
// time the kernel enters a directory (asks for its listing, or first uses one given ahead):
// - after a few directories the mount is being walked (find, tar), not looked into, and the
//   repository's index, which the walk would otherwise read page by page on the event loop
//   (a tree-stats record per directory: ~600 reads of 4 KiB for the test root), is read
//   ahead whole in the background, if small enough;
// - a walk that read a file within its last few directories reads files (tar, cp -a): the
//   first files of each directory it enters are checked at once, before the
//   walk asks for their bytes, instead of the first read of each directory waiting alone.
import fs from 'node:fs';
import type { CommitFs } from '../commit-fs.js';

/** Directories entered before a mount counts as walked. */
const WALK = 16;
/** An index larger than this is left to be read page by page. */
const INDEX_AHEAD_MAX = 64 * 1024 * 1024;
/** A walk reads files while it read one within this many directories. */
const READING = 8;

export class WalkAhead {
  private entered = 0;
  private readsSeen = 0;
  private sinceRead = Infinity;

  /** `reads`: READ requests the kernel has sent so far; `readAhead` reads a file ahead in the background. */
  constructor(private readonly fsys: CommitFs, private readonly reads: () => number, private readonly readAhead: (file: string) => void, private readonly log: (msg: string) => void) {}

  enter(path: string): void {
    if (++this.entered === WALK) this.readIndexAhead();
    const reads = this.reads();
    if (reads !== this.readsSeen) {
      this.readsSeen = reads;
      this.sinceRead = 0;
    } else this.sinceRead++;
    if (this.sinceRead < READING) this.fsys.warmDir(path);
  }

  private readIndexAhead(): void {
    const file = this.fsys.indexFile;
    fs.stat(file, (err, st) => {
      if (err) this.log(`index not read ahead: ${err.message}`);
      else if (st.size <= INDEX_AHEAD_MAX) this.readAhead(file);
    });
  }
}
