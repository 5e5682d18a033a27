/** The `clusterlink` command tree; `run` executes one invocation and returns the exit status. */
import { Command, CommanderError } from 'commander';
import { CLUSTERLINK_VERSION } from '../kernel/api/conventions';
import type { CliContext } from './context';
import { CliError } from './errors';
import { createCommand } from './commands/create';
import { deleteCommand, deployCommand } from './commands/deploy';
import { demoCommand } from './commands/demo';
import { gatewayCommand } from './commands/gateway';
import { initCommand } from './commands/init';
import { policyCommand } from './commands/policy';
import { controlPlaneCommand, dataPlaneCommand } from './commands/processes';
import { statusCommand } from './commands/status';

export type CommandFactory = (ctx: CliContext) => Command;

const COMMANDS: readonly CommandFactory[] = [
  createCommand,
  initCommand,
  gatewayCommand,
  statusCommand,
  policyCommand,
  deployCommand,
  deleteCommand,
  demoCommand,
  controlPlaneCommand,
  dataPlaneCommand,
];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('clusterlink')
    .description('connect services across clusters over mutual TLS')
    .version(CLUSTERLINK_VERSION, '-V, --version', 'print the version of clusterlink (the npm package)')
    .showHelpAfterError('(run with --help for usage)');
  for (const factory of COMMANDS) program.addCommand(factory(ctx));
  // Every command reports through ctx and throws instead of exiting, so `run` owns the exit status.
  const configure = (cmd: Command): void => {
    cmd.configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) }).exitOverride();
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

export async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or the help text).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      ctx.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    const e = err as NodeJS.ErrnoException;
    ctx.err(`error: ${e?.message ?? String(err)}${e?.code ? ` (${e.code})` : ''}\n`);
    return 1;
  }
}
