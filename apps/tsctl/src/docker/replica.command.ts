/**
 * `tsctl replica stop|start|restart|rm|pause|unpause NAME`: the single-container verbs. NAME is a
 * container of `tsctl run` or the Docker API (its name, id, or the name of its current replica), and
 * the verbs are those `docker stop|start|restart|rm|pause|unpause` call (docker.containers.ts). pause
 * and unpause also take any replica of any Service: only a container's lifecycle is its own, a
 * Service's replica is stopped, started and replaced by its Service (tsctl scale, rollout restart).
 */
import type { Replica } from '@tide/api';
import { UsageError } from '../cli/args';
import { Command, CommandContext, CommandError, NAMESPACE_OPTION, namespaceOf, query } from '../commands/command';
import { TideContainers } from './docker.backend';
import { ContainerVerbs } from './docker.containers';
import { DockerError } from './docker.errors';
import { Container, dockerName } from './docker.model';

const VERBS = ['stop', 'start', 'restart', 'rm', 'pause', 'unpause'] as const;
type Verb = (typeof VERBS)[number];
const USAGE = `tsctl replica ${VERBS.join('|')} NAME [-n NS] [-f]`;
/** How long pausing a Service's replica waits for its node (the balancers' drain, then the freeze). */
const PAUSE_WAIT_MS = 30_000;
const POLL_MS = 200;

export const replicaCommand: Command = {
  name: 'replica',
  usage: USAGE,
  summary: 'stop, start, restart, remove, pause or unpause a container (tsctl run, the Docker API); pause|unpause any replica',
  options: [NAMESPACE_OPTION, { long: 'force', short: 'f', boolean: true, help: 'rm: also a running container (stopped first)' }],
  async run(ctx: CommandContext): Promise<void> {
    const [verb, name, ...rest] = ctx.args;
    if (!verb || !(VERBS as readonly string[]).includes(verb)) throw new UsageError(`replica needs one of ${VERBS.join(', ')}${verb ? `, got "${verb}"` : ''}\nusage: ${USAGE}`);
    if (!name || rest.length > 0) throw new UsageError(`replica ${verb} needs one NAME\nusage: ${USAGE}`);
    const verbs = new ContainerVerbs(new TideContainers(ctx.api, namespaceOf(ctx)));
    try {
      const container = await containerOf(verbs.containers, name);
      if (container) {
        await containerVerb(verbs, verb as Verb, container.id, ctx.options.has('force'));
        ctx.out(`${verb}: container ${dockerName(container.service)} (replica ${container.replica?.metadata.name ?? 'none'})`);
        return;
      }
      await replicaVerb(ctx, verb as Verb, name);
    } catch (error) {
      // Docker's messages ("Container ... is not running") are this command's errors: one line, exit 1.
      if (error instanceof DockerError) throw new CommandError(error.message);
      throw error;
    }
  },
};

/** By the container's name or id, or its current replica's name. */
async function containerOf(containers: TideContainers, name: string): Promise<Container | undefined> {
  return (await containers.lookup(name)) ?? (await containers.list()).find((c) => c.replica?.metadata.name === name);
}

async function containerVerb(verbs: ContainerVerbs, verb: Verb, id: string, force: boolean): Promise<void> {
  switch (verb) {
    case 'stop': await verbs.stop(id); return;
    case 'start': await verbs.start(id); return;
    case 'restart': await verbs.restart(id); return;
    case 'rm': await verbs.remove(id, force); return;
    case 'pause': await verbs.pause(id); return;
    case 'unpause': await verbs.unpause(id); return;
  }
}

/** A Service's replica: paused and unpaused in place, waiting for its node to report it so. */
async function replicaVerb(ctx: CommandContext, verb: Verb, name: string): Promise<void> {
  const path = (action = '') => `/api/v1/replicas/${encodeURIComponent(name)}${action}${query({ namespace: namespaceOf(ctx) })}`;
  const replica = await ctx.api.get<Replica>(path());
  if (verb !== 'pause' && verb !== 'unpause') {
    const service = replica.spec.service;
    throw new CommandError(`replica "${name}" belongs to service "${service}", not to a container of tsctl run or the Docker API: `
      + `its service runs it (tsctl scale service ${service} --replicas N; tsctl rollout restart service ${service} replaces its replicas)`);
  }
  await ctx.api.request('POST', path(`/${verb}`));
  const wanted = verb === 'pause' ? 'Paused' : 'Running';
  const deadline = Date.now() + PAUSE_WAIT_MS;
  for (;;) {
    const now = await ctx.api.get<Replica>(path());
    if (now.status?.phase === wanted) break;
    if (Date.now() > deadline) throw new CommandError(`replica "${name}": asked to ${verb}, still ${now.status?.phase ?? 'without a status'} after ${PAUSE_WAIT_MS / 1000} s${now.status?.message ? ` (${now.status.message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  ctx.out(`${verb}: replica ${name} (service ${replica.spec.service}) is ${wanted}`);
}
