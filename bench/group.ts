// What a benchmark group is: one file in bench/ exporting `group`, listed in main.ts.
import type { Check, Metric } from './metrics.js';

export interface Context {
  /** Runs per metric; each group repeats its whole sequence this many times and reports medians. */
  runs: number;
  /** Human-readable progress and notes (stderr under --json, so stdout stays JSON). */
  log(line: string): void;
  /** Prints the metric's line and keeps it for the summary and --json. */
  report(m: Metric): void;
  /** A correctness check (OK/MISMATCH), printed at once. */
  check(c: Omit<Check, 'group'>): void;
}

export interface Group {
  name: string;
  run(ctx: Context): Promise<void>;
}

/** Per-metric samples over the runs of a group: `s.add('first', t)`, then `s.get('first')`. */
export class Samples {
  private readonly m = new Map<string, number[]>();
  add(key: string, x: number): void {
    const xs = this.m.get(key) ?? [];
    xs.push(x);
    this.m.set(key, xs);
  }
  get(key: string): number[] {
    return this.m.get(key) ?? [];
  }
}
