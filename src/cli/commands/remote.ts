import type { Command } from 'commander';
import { addRemote, deleteRemote, listRemotes, parseSignVerify } from '../../store/remote/remotes.js';
import { openRepo } from '../context.js';
import { printJson, printTable } from '../output.js';

export function register(program: Command): void {
  const remote = program.command('remote').description('remotes to pull from (kept in the repo config, as ostree keeps them)');
  remote.command('add')
    .description('add a remote serving an archive repository over HTTP')
    .argument('<name>', 'remote name')
    .argument('<url>', 'http:// or https:// URL of the repository')
    .option('--sign-verify <key>', 'require ed25519 signatures: ed25519=inline:BASE64, ed25519=file:PATH, or a base64 public key')
    .action((name: string, url: string, o: { signVerify?: string }, cmd: Command) => {
      addRemote(openRepo(cmd), name, url, o.signVerify ? parseSignVerify(o.signVerify) : null);
    });
  remote.command('list')
    .description('list remotes')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }, cmd: Command) => {
      const remotes = listRemotes(openRepo(cmd));
      if (o.json) printJson(remotes);
      else printTable(['NAME', 'URL', 'SIGNATURES'], remotes.map((r) => [r.name, r.url, r.verify ? 'required' : '-']));
    });
  remote.command('delete')
    .description('delete a remote (its refs stay until deleted)')
    .argument('<name>', 'remote name')
    .action((name: string, _o: unknown, cmd: Command) => deleteRemote(openRepo(cmd), name));
  for (const c of remote.commands) c.exitOverride().configureOutput(program.configureOutput());
  remote.exitOverride().configureOutput(program.configureOutput());
}
