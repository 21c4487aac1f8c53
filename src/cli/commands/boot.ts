import type { Command } from 'commander';
import { HacktreeError } from '../../errors.js';

// `hacktree boot` is scripts/hacktree-boot, which bin/hacktree runs before node starts (it must
// end by exec'ing init, which node cannot do). It is defined here too so that help, the man page
// and completion list it.
export function register(program: Command): void {
  program.command('boot')
    .description("boot a root from an initramfs: count the boot (falling back from a commit on trial that did not boot), mount it, move /dev, /proc, /sys and /run in, switch to it and exec init")
    .argument('<name>')
    .option('--init <path>', 'the init to exec inside the root', '/sbin/init')
    .option('--no-switch', "only mount the root (as a booted system's /) and print its mountpoint: the caller switches to it (initramfs-tools' /init)")
    .action(() => {
      throw new HacktreeError('UNSUPPORTED', 'boot runs through bin/hacktree (scripts/hacktree-boot), not the node CLI directly');
    });
}
