// Commands of the layers above the store: mounting.
import type { Command } from 'commander';
import { register as mount } from './commands/mount.js';
import { register as umount } from './commands/umount.js';
import { register as mounts } from './commands/mounts.js';

export const extraCommands: Array<(program: Command) => void> = [mount, umount, mounts];
