// The command tree as plain data, read from the commander definitions: completion
// scripts and the man page are generated from it, so they cannot drift from --help.
import type { Command, Option } from 'commander';

export interface OptionInfo { flags: string; names: string[]; takesValue: boolean; description: string }
export interface ArgInfo { name: string; required: boolean; variadic: boolean; description: string; choices: string[] }
export interface CommandInfo {
  /** The words after `hacktree`: ['root', 'create']. */
  path: string[];
  description: string;
  args: ArgInfo[];
  options: OptionInfo[];
  subcommands: CommandInfo[];
}

function optionInfo(o: Option): OptionInfo {
  return { flags: o.flags, names: [o.short, o.long].filter((x): x is string => !!x), takesValue: o.required || o.optional, description: o.description };
}

export function describe(cmd: Command, path: string[] = []): CommandInfo {
  const help = cmd.createHelp();
  return {
    path,
    description: cmd.description(),
    args: cmd.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic, description: a.description, choices: [...(a.argChoices ?? [])] })),
    options: help.visibleOptions(cmd).map(optionInfo),
    subcommands: help.visibleCommands(cmd).filter((c) => c.name() !== 'help').map((c) => describe(c, [...path, c.name()])),
  };
}

/** Every command with its subcommands, depth first, the program itself first. */
export function flatten(c: CommandInfo): CommandInfo[] {
  return [c, ...c.subcommands.flatMap(flatten)];
}

/** `NAME [REV] [PATHS...]`: the arguments as help writes them. */
export function argsUsage(c: CommandInfo): string {
  return c.args.map((a) => {
    const n = `${a.name.toUpperCase()}${a.variadic ? '...' : ''}`;
    return a.required ? n : `[${n}]`;
  }).join(' ');
}
