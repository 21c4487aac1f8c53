import type { Command } from 'commander';

/** A command's module registers the command of the entry's name; it is loaded only when needed. */
export type CommandEntry = [name: string, load: () => Promise<{ register(program: Command): void }>];
