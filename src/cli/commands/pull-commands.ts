// Commands for moving commits between repositories: remotes, pull, publishing, signing.
import type { Command } from 'commander';
import { register as remote } from './remote.js';
import { register as pull } from './pull.js';
import { register as pullLocal } from './pull-local.js';
import { register as summary } from './summary.js';
import { register as sign } from './sign.js';

export const pullCommands: Array<(program: Command) => void> = [remote, pull, pullLocal, summary, sign];
