// Commands of later layers (mount, roots, layers) register here.
import type { Command } from 'commander';

export const extraCommands: Array<(program: Command) => void> = [];
