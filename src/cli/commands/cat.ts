import type { Command } from 'commander';
import { resolveRev } from '../../store/rev.js';
import { lookupPath } from '../../store/tree-walk.js';
import { isLnk } from '../../store/objects/types.js';
import { HacktreeError } from '../../errors.js';
import { openRepo } from '../context.js';

export function register(program: Command): void {
  program.command('cat')
    .description('write the content of a file in a commit to stdout')
    .argument('<rev>')
    .argument('<path>')
    .action(async (rev: string, path: string, _o: unknown, cmd: Command) => {
      const repo = openRepo(cmd);
      const e = await lookupPath(repo, resolveRev(repo, rev), path);
      if (e.kind !== 'file') throw new HacktreeError('IS_DIRECTORY', `${path} is a directory`);
      const { meta, content } = await repo.readContent(e.checksum);
      if (isLnk(meta.mode)) throw new HacktreeError('USAGE', `${path} is a symlink to ${meta.symlinkTarget}`);
      await new Promise<void>((res, rej) => process.stdout.write(content, (err) => (err ? rej(err) : res())));
    });
}
