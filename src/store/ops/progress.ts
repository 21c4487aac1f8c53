/** Long operations report through this; the CLI draws it on a terminal and stays quiet in pipes. */
export interface Progress {
  update(done: number, total: number | null, detail?: string): void;
  finish(): void;
}

export const noProgress: Progress = { update() {}, finish() {} };
