#!/usr/bin/env node
/** tsctl: the Tide command line. Errors are one clear line on stderr and a non-zero exit. */
import { UsageError, parseArgs } from './args';
import { ApiClient, ApiError, defaultServer } from './client';
import { down, up } from './commands/cluster';
import { CommandContext, apply, describe, get, logs, remove, scale } from './commands/resources';
import { ManifestError } from './manifest';

const USAGE = `usage: tsctl [--server URL] COMMAND
  up [--nodes N] [--state-dir DIR] [--base-port P] [--node-grace-seconds S]
                                                      start a local cluster (etcd, control plane, N agents)
  down [--state-dir DIR] [--purge]                    stop it (and forget its state with --purge)
  apply -f FILE|-                                     create or update the Services in FILE
  get services|replicas|nodes|events [NAME] [-o wide|json|yaml] [-n NS|-A]
  describe service|replica|node NAME
  scale service NAME --replicas N
  logs REPLICA [-f]
  delete service NAME | delete -f FILE`;

const COMMANDS: Record<string, (ctx: CommandContext) => Promise<void>> = { up, down, apply, get, describe, scale, logs, delete: remove };

async function main(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv);
  const [command, ...rest] = positionals;
  if (!command || flags.has('help') || command === 'help') {
    console.log(USAGE);
    return command || flags.has('help') ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  const api = new ApiClient((flags.get('server') ?? defaultServer()).replace(/\/$/, ''));
  await run({ api, positionals: rest, flags, out: (text) => console.log(text) });
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  const known = error instanceof UsageError || error instanceof ApiError || error instanceof ManifestError;
  console.error(`error: ${known ? (error as Error).message : `unexpected: ${(error as Error).message}`}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
