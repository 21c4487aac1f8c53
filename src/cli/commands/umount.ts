import type { Command } from 'commander';
import { unmount } from '../../mount.js';

export function register(program: Command): void {
  program.command('umount')
    .description('unmount a hacktree mount (also one whose daemon died) and stop its daemon')
    .argument('<mountpoint>')
    .option('--lazy', 'detach now even if busy; the kernel finishes when it is no longer used')
    .action(async (mountpoint: string, o: { lazy?: boolean }) => {
      await unmount(mountpoint, { lazy: o.lazy });
    });
}
