// Commands of the layers above the store: mounting, roots, layers.
import type { Command } from 'commander';
import { register as mount } from './commands/mount.js';
import { register as umount } from './commands/umount.js';
import { register as mounts } from './commands/mounts.js';
import { register as root } from './commands/root.js';
import { register as layer } from './commands/layer.js';
import { register as enter } from './commands/enter.js';

export const extraCommands: Array<(program: Command) => void> = [mount, umount, mounts, root, layer, enter];
