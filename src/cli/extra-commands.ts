// Commands of the layers above the store: mounting, roots, layers.
import type { CommandEntry } from './command-entry.js';

export const extraCommands: CommandEntry[] = [
  ['mount', () => import('./commands/mount.js')],
  ['umount', () => import('./commands/umount.js')],
  ['mounts', () => import('./commands/mounts.js')],
  ['root', () => import('./commands/root.js')],
  ['layer', () => import('./commands/layer.js')],
  ['enter', () => import('./commands/enter.js')],
];
