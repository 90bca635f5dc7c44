#!/usr/bin/env node
/** tsctl: the Tide command line. Errors are one clear line on stderr (no stack trace) and a non-zero exit. */
import { ApiClient, ApiError } from './api/api.client';
import { ConfigError, readCliConfig, resolveCredentials } from './api/cli.config';
import { GLOBAL_OPTIONS, OptionSpec, UsageError, describeOptions, parseCommandLine } from './cli/args';
import { ClusterError, downCommand, upCommand } from './cluster/cluster.commands';
import { hostCommand } from './cluster/host.commands';
import { applyCommand } from './commands/apply.command';
import { deleteCommand, scaleCommand } from './commands/change.commands';
import { Command, CommandError } from './commands/command';
import { convertCommand } from './commands/convert.command';
import { describeCommand } from './commands/describe.command';
import { diffCommand } from './commands/diff.command';
import { dockerHostCommand, dockerServeCommand } from './docker/docker.command';
import { psCommand, runCommand } from './docker/run.command';
import { replicaCommand } from './docker/replica.command';
import { execCommand } from './commands/exec.command';
import { cpCommand } from './commands/cp.command';
import { getCommand } from './commands/get.command';
import { imageCommand } from './commands/image.command';
import { logsCommand } from './commands/logs.command';
import { cordonCommand, drainCommand, nodeCommand, uncordonCommand } from './commands/node.commands';
import { registryCommand } from './commands/registry.command';
import { rolloutCommand } from './commands/rollout.command';
import { tokenCommand } from './commands/token.command';
import { secretsCommand } from './commands/secrets.command';
import { topCommand } from './commands/top.command';
import { versionCommand } from './commands/version.command';
import { COMPLETION_SHELLS, completionScript, parseShell } from './cli/completion';
import { ManifestError, ManifestRejectedError } from './manifest/manifest';
import { OutputFormatError } from './output/table';

/** `tsctl completion bash|zsh`: here, since it completes the commands of this list. */
const completionCommand: Command = {
  name: 'completion',
  usage: `tsctl completion ${COMPLETION_SHELLS.join('|')}`,
  summary: 'print a shell script completing tsctl\'s commands, kinds and flags (source <(tsctl completion bash))',
  options: [],
  async run(ctx) {
    if (ctx.args.length > 1) throw new UsageError(`completion takes one shell, got "${ctx.args.join(' ')}"`);
    ctx.out(completionScript(parseShell(ctx.args[0]), COMMANDS, GLOBAL_OPTIONS));
  },
};

const COMMANDS: Command[] = [
  upCommand, downCommand, applyCommand, diffCommand, convertCommand, getCommand, describeCommand, scaleCommand, logsCommand, execCommand, cpCommand, deleteCommand, imageCommand,
  cordonCommand, uncordonCommand, drainCommand, nodeCommand, hostCommand, topCommand, rolloutCommand, tokenCommand, secretsCommand, registryCommand, versionCommand, completionCommand,
  runCommand, psCommand, replicaCommand, dockerServeCommand, dockerHostCommand,
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: tsctl [--server URL] [--token TOKEN] [--ca-file FILE] COMMAND [ARGS]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `global: ${describeOptions(GLOBAL_OPTIONS)}; "tsctl COMMAND --help" shows a command's options`,
  ].join('\n');
}

function commandHelp(command: Command): string {
  const lines = command.options.map((o: OptionSpec) => `  ${(o.short ? `-${o.short}, --${o.long}` : `    --${o.long}`).padEnd(26)}${o.help ?? ''}`);
  return [`usage: ${command.usage}`, '', command.summary, ...(lines.length ? ['', ...lines] : [])].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, (name) => COMMANDS.find((c) => c.name === name)?.options);
  const command = COMMANDS.find((c) => c.name === parsed.command);
  if (parsed.command === undefined || parsed.command === 'help') {
    const topic = COMMANDS.find((c) => c.name === parsed.args[0]);
    console.log(topic ? commandHelp(topic) : usage());
    return parsed.command === 'help' || parsed.options.has('help') ? 0 : 2;
  }
  if (!command) throw new UsageError(`unknown command "${parsed.command}"\n${usage()}`);
  if (parsed.options.has('help')) {
    console.log(commandHelp(command));
    return 0;
  }
  try {
    const config = readCliConfig();
    const code = await command.run({
      api: new ApiClient(resolveCredentials(parsed.options, config)),
      config, args: parsed.args, options: parsed.options,
      out: (text) => console.log(text),
      note: (text) => console.error(text),
    });
    return code ?? 0;
  } catch (error) {
    if (command.errorExitCode === undefined) throw error;
    return Math.max(report(error), command.errorExitCode);
  }
}

/** Errors a user can act on print their message; anything else is a bug, still shown in one line. */
function report(error: unknown): number {
  if (error instanceof ManifestRejectedError) {
    for (const line of error.warnings) console.error(line);
    for (const line of error.lines) console.error(line);
    console.error(`error: ${error.outcome} (${error.lines.length} problem${error.lines.length === 1 ? '' : 's'})`);
    return 1;
  }
  const expected = [UsageError, ApiError, ManifestError, ClusterError, OutputFormatError, CommandError, ConfigError].some((type) => error instanceof type);
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${expected ? message : `unexpected: ${message}`}`);
  return error instanceof UsageError ? 2 : 1;
}

// `tsctl logs -f | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));

/** Exits once stdout and stderr are flushed: to a pipe they are asynchronous, and a big -o json would be cut. */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exitAfterFlush, (error: unknown) => exitAfterFlush(report(error)));
