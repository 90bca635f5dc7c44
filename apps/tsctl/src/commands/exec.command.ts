/**
 * `tsctl exec [-i] [-t] [-n NS] REPLICA -- COMMAND [ARGS...]`: runs a command inside a running
 * replica (its namespaces and cgroup), as `kubectl exec` / `docker exec` do. The remote exit code
 * becomes tsctl's (a signal becomes 128 + its number, as a shell reports it).
 */
import * as os from 'node:os';
import { exitCodeOf } from '@tide/api';
import { UsageError } from '../cli/args';
import { execPath, openExec, runExecSession } from '../exec/exec.client';
import { ExecRequest } from '../exec/exec.types';
import { Terminal, processTerminal } from '../exec/terminal';
import { Command, CommandContext, NAMESPACE_OPTION, namespaceOf } from './command';

const USAGE = 'tsctl exec [-i] [-t] [-n NS] REPLICA -- COMMAND [ARGS...]';

export const execCommand: Command = {
  name: 'exec',
  usage: USAGE,
  summary: 'run a command in a replica (-it: an interactive terminal); exits with its code',
  options: [
    { long: 'stdin', short: 'i', boolean: true, help: 'pass stdin to the command' },
    { long: 'tty', short: 't', boolean: true, help: 'allocate a terminal (with -i on a terminal: raw mode)' },
    NAMESPACE_OPTION,
  ],
  async run(ctx: CommandContext): Promise<number> {
    return runExec(ctx, processTerminal());
  },
};

export async function runExec(ctx: CommandContext, terminal: Terminal): Promise<number> {
  const [name, ...argv] = ctx.args;
  if (!name) throw new UsageError(`exec needs a REPLICA and a command\nusage: ${USAGE}`);
  if (argv.length === 0) throw new UsageError(`exec needs a command after the replica, e.g. "tsctl exec ${name} -- sh"\nusage: ${USAGE}`);
  const stdin = ctx.options.has('stdin');
  let tty = ctx.options.has('tty');
  if (tty && stdin && !terminal.isTTY) {
    // kubectl's choice: go on without a terminal rather than fail a piped `exec -it`.
    ctx.note('Unable to use a TTY - input is not a terminal');
    tty = false;
  }
  const request: ExecRequest = {
    replica: name.replace(/^replicas?\//, ''), namespace: namespaceOf(ctx), argv, stdin, tty,
    ...(tty ? { size: terminal.size() } : {}),
  };
  const { socket, head } = await openExec(ctx.api.credentials, execPath(request));
  const exit = await runExecSession(socket, head, request, {
    stdin: process.stdin, stdout: process.stdout, stderr: process.stderr,
    ...(tty && stdin && terminal.isTTY ? { terminal } : {}),
  });
  if (exit.error) ctx.note(`error: exec: ${exit.error}`);
  return exitCodeOf(exit, os.constants.signals as Record<string, number>);
}
