/**
 * `tsctl run` and `tsctl ps`: Docker's container verbs without a Docker client, the same containers
 * `tsctl docker-serve` serves (a Service each, docker.model.ts), driven in this process.
 */
import { Duplex, Readable } from 'node:stream';
import { UsageError, repeatedValues } from '../cli/args';
import { Command, CommandContext, NAMESPACE_OPTION, namespaceOf } from '../commands/command';
import { formatAge, formatTable } from '../output/table';
import { TideContainers } from './docker.backend';
import { ContainerVerbs } from './docker.containers';
import { PsEntry, psEntry } from './docker.entries';
import { CreateBody } from './docker.model';
import { DockerAttaches } from './docker.attach';
import { processTerminal } from '../exec/terminal';
import { isUp } from './docker.server';

const RUN_USAGE = 'tsctl run [-d] [-i] [-t] [--rm] [--name NAME] [-p HOSTPORT:PORT]... [-e NAME=VALUE]... [-n NS] IMAGE [-- COMMAND [ARG...]]';

/** The create body of `tsctl run`'s flags, as the docker CLI would send it for the same flags. */
export function runBody(image: string, command: string[], options: Map<string, string>): CreateBody {
  const bindings: NonNullable<NonNullable<CreateBody['HostConfig']>['PortBindings']> = {};
  for (const publish of repeatedValues(options, 'publish')) {
    const match = /^(\d{1,5}):(\d{1,5})(?:\/tcp)?$/.exec(publish);
    if (!match) throw new UsageError(`--publish: expected HOSTPORT:PORT (8080:80), got "${publish}"`);
    bindings[`${match[2]}/tcp`] = [{ HostIp: '', HostPort: match[1] }];
  }
  return {
    Image: image,
    ...(command.length ? { Cmd: command } : {}),
    Env: repeatedValues(options, 'env'),
    ExposedPorts: Object.fromEntries(Object.keys(bindings).map((key) => [key, {}])),
    HostConfig: { PortBindings: bindings, AutoRemove: options.has('rm') },
    ...(options.has('interactive') ? { OpenStdin: true } : {}),
    ...(options.has('tty') ? { Tty: true } : {}),
  };
}

export const runCommand: Command = {
  name: 'run',
  usage: RUN_USAGE,
  summary: 'run a one-off container as docker run does: a service of one replica placed by the scheduler (output and exit code passed on unless -d)',
  options: [
    { long: 'detach', short: 'd', boolean: true, help: 'start it and print its id, without waiting' },
    { long: 'rm', boolean: true, help: 'remove it once it exits' },
    { long: 'name', help: 'its name (a service name; default c-RANDOM)' },
    { long: 'publish', short: 'p', repeatable: true, help: 'HOSTPORT:PORT: publish PORT on every node\'s HOSTPORT' },
    { long: 'env', short: 'e', repeatable: true, help: 'NAME=VALUE in its environment' },
    { long: 'interactive', short: 'i', boolean: true, help: 'pass standard input to its process (its end is the process\'s EOF)' },
    { long: 'tty', short: 't', boolean: true, help: 'run its process on a terminal (with -i on a local terminal: raw, sized as it)' },
    NAMESPACE_OPTION,
  ],
  async run(ctx: CommandContext): Promise<number> {
    const [image, ...command] = ctx.args;
    if (!image) throw new UsageError(`run needs an IMAGE\nusage: ${RUN_USAGE}`);
    const verbs = new ContainerVerbs(new TideContainers(ctx.api, namespaceOf(ctx)));
    const { Id } = await verbs.create(ctx.options.get('name') ?? null, runBody(image, command, ctx.options));
    if (ctx.options.has('detach')) {
      await verbs.start(Id);
      ctx.out(Id);
      return 0;
    }
    return runAttached(verbs, Id, ctx.options.has('rm'), ctx.options.has('interactive'));
  },
};

/**
 * As `docker run` does: attached before the start (output; with -i or -t the process's stdio through
 * the attach session), the exit awaited, the container's exit code returned.
 */
async function runAttached(verbs: ContainerVerbs, id: string, remove: boolean, interactive: boolean): Promise<number> {
  const container = await verbs.containers.find(id);
  const stopped = new AbortController();
  // Ctrl-C stops the container (as docker run's signal proxy ends it); the exit is then reported as
  // usual. On a terminal (-it) Ctrl-C is a key for the container's process instead.
  const onInterrupt = () => void verbs.stop(id).catch(() => undefined);
  process.once('SIGINT', onInterrupt);
  const terminal = container.service.spec.tty && interactive ? processTerminal() : undefined;
  const connection = Duplex.from({ readable: interactive ? process.stdin : Readable.from([]), writable: process.stdout });
  try {
    const params = new URLSearchParams({ stream: '1', stdout: '1', ...(interactive ? { stdin: '1' } : {}) });
    const output = new DockerAttaches(verbs).attach(container, params, { connection, framed: false, ...(terminal?.isTTY ? { terminal } : {}) }, stopped.signal);
    const exit = remove ? verbs.removeOnExit(container) : verbs.wait(id, 'next-exit', stopped.signal);
    await verbs.start(id);
    const code = await exit;
    await output;
    return code;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    stopped.abort();
    process.stdin.pause(); // a flowing stdin would keep tsctl alive
  }
}

export const psCommand: Command = {
  name: 'ps',
  usage: 'tsctl ps [-a] [-n NS]',
  summary: 'list the containers of tsctl run and the Docker API as docker ps does (-a: the stopped ones too)',
  options: [{ long: 'all', short: 'a', boolean: true, help: 'also the created and exited ones' }, NAMESPACE_OPTION],
  async run(ctx: CommandContext): Promise<void> {
    if (ctx.args.length > 0) throw new UsageError(`ps takes no arguments, got "${ctx.args.join(' ')}"`);
    const now = Date.now();
    const entries = (await new TideContainers(ctx.api, namespaceOf(ctx)).list())
      .map((c) => psEntry(c, now))
      .filter((e) => ctx.options.has('all') || isUp(e.State))
      .sort((a, b) => b.Created - a.Created);
    ctx.out(formatTable(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], entries.map((e) => psRow(e, now))));
  },
};

function psRow(entry: PsEntry, nowMs: number): string[] {
  const ports = entry.Ports.map((p) => (p.PublicPort ? `0.0.0.0:${p.PublicPort}->${p.PrivatePort}/tcp` : `${p.PrivatePort}/tcp`));
  const command = entry.Command.length > 20 ? `${entry.Command.slice(0, 19)}…` : entry.Command;
  return [
    entry.Id.slice(0, 12), entry.Image, `"${command}"`, `${formatAge(new Date(entry.Created * 1000).toISOString(), nowMs)} ago`,
    entry.Status, ports.join(', '), entry.Names[0].slice(1),
  ];
}
