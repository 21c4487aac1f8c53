// Commands for moving commits between repositories: remotes, pull, publishing, signing.
import type { CommandEntry } from '../command-entry.js';

export const pullCommands: CommandEntry[] = [
  ['remote', () => import('./remote.js')],
  ['pull', () => import('./pull.js')],
  ['pull-local', () => import('./pull-local.js')],
  ['summary', () => import('./summary.js')],
  ['sign', () => import('./sign.js')],
];
