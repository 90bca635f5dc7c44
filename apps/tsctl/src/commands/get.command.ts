/**
 * `tsctl get services|replicas|nodes|events|configmaps|secrets|volumes [NAME] [-o wide|json|yaml] [-n NS|-A]`.
 * A Secret's values read `<redacted>` unless `--reveal` is given by a role that may write Secrets.
 * Volumes are the named local volumes (node, size, users): a list the API answers whole, NAME picks one.
 */
import { ConfigMap, LocalVolumeView, Node, Replica, Secret, Service, TideEvent } from '@tide/api';
import { ApiError } from '../api/api.client';
import { UsageError } from '../cli/args';
import { eventsTable, nodesTable, replicasTable, servicesTable } from '../output/resource.tables';
import { configMapsTable, secretsTable, volumesTable } from '../output/config.tables';
import { formatStructured, parseOutputFormat } from '../output/table';
import { Command, CommandContext, NAMESPACE_OPTION, ResourceKind, namespaceOf, parseKind, query, singular } from './command';
import { watchEvents } from './events.watch';

const USAGE = 'tsctl get services|replicas|nodes|events|configmaps|secrets|volumes [NAME] [-o wide|json|yaml] [-n NS | -A] [--reveal]';

export const getCommand: Command = {
  name: 'get',
  usage: USAGE,
  summary: 'list objects as a table (or json/yaml)',
  options: [
    { long: 'output', short: 'o', help: 'wide, json or yaml' },
    NAMESPACE_OPTION,
    { long: 'all-namespaces', short: 'A', boolean: true, help: 'every namespace' },
    { long: 'service', help: 'replicas of this service only' },
    { long: 'watch', short: 'w', boolean: true, help: 'events: keep printing new events as they are recorded' },
    { long: 'reveal', boolean: true, help: "secrets: show the values (edit or admin role); otherwise they read <redacted>" },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const target = parseKind(ctx.args[0], ['services', 'replicas', 'nodes', 'events', 'configmaps', 'secrets', 'volumes'], USAGE);
    if (ctx.options.has('reveal') && target.kind !== 'secrets') throw new UsageError(`--reveal works with "get secrets" only\nusage: ${USAGE}`);
    const name = target.name ?? ctx.args[1];
    if (ctx.args.length > (target.name ? 1 : 2)) throw new UsageError(`too many arguments\nusage: ${USAGE}`);
    const format = parseOutputFormat(ctx.options.get('output'));
    const allNamespaces = ctx.options.has('all-namespaces');
    const namespace = allNamespaces ? 'all' : namespaceOf(ctx);
    if (ctx.options.has('watch')) {
      if (target.kind !== 'events' || name) throw new UsageError(`--watch works with "get events" only\nusage: ${USAGE}`);
      if (format === 'yaml' || format === 'wide') throw new UsageError('get events --watch prints a table, or one JSON event per line with -o json');
      return watchEvents(ctx, namespace, format === 'json');
    }
    const items = name ? [await getOne(ctx, target.kind, name, namespace)] : await list(ctx, target.kind, namespace);
    if (format === 'json' || format === 'yaml') {
      return ctx.out(formatStructured(name ? items[0] : { items }, format));
    }
    if (items.length === 0) {
      return ctx.note(target.kind === 'nodes' ? 'No nodes registered.' : `No ${target.kind} found${allNamespaces ? '' : ` in namespace ${namespace}`}.`);
    }
    const options = { wide: format === 'wide', withNamespace: allNamespaces };
    if (target.kind === 'services') return ctx.out(servicesTable(items as Service[], options));
    if (target.kind === 'replicas') return ctx.out(replicasTable(items as Replica[], options));
    if (target.kind === 'events') return ctx.out(eventsTable(items as TideEvent[], undefined, allNamespaces));
    if (target.kind === 'configmaps') return ctx.out(configMapsTable(items as ConfigMap[], allNamespaces));
    if (target.kind === 'secrets') return ctx.out(secretsTable(items as Secret[], allNamespaces));
    if (target.kind === 'volumes') return ctx.out(volumesTable(items as LocalVolumeView[], allNamespaces));
    const replicas = await ctx.api.get<{ items: Replica[] }>('/api/v1/replicas?namespace=all');
    ctx.out(nodesTable(items as Node[], replicas.items, options));
  },
};

async function list(ctx: CommandContext, kind: ResourceKind, namespace: string): Promise<unknown[]> {
  const params = kind === 'nodes' ? {} : { namespace, ...(kind === 'replicas' ? { service: ctx.options.get('service') } : {}), ...revealParam(ctx, kind) };
  const response = await ctx.api.get<{ items: unknown[] } | unknown[]>(`/api/v1/${kind}${query(params)}`);
  return Array.isArray(response) ? response : response.items;
}

export async function getOne<T = unknown>(ctx: CommandContext, kind: ResourceKind, name: string, namespace: string): Promise<T> {
  if (kind === 'events') throw new UsageError('events have no names to get; use "tsctl get events" or "tsctl describe"');
  const ns = namespace === 'all' ? 'default' : namespace;
  if (kind === 'volumes') {
    const found = (await list(ctx, kind, ns) as LocalVolumeView[]).find((v) => v.name === name);
    if (!found) throw new ApiError(`volume "${name}" not found in namespace ${ns} (a named local volume is listed once a replica using it is placed)`, 404);
    return found as T;
  }
  try {
    return await ctx.api.get<T>(`/api/v1/${kind}/${encodeURIComponent(name)}${kind === 'nodes' ? '' : query({ namespace: ns, ...revealParam(ctx, kind) })}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new ApiError(`${singular(kind)} "${name}" not found${kind === 'nodes' ? '' : ` in namespace ${ns}`}`, 404);
    }
    throw error;
  }
}

function revealParam(ctx: CommandContext, kind: ResourceKind): { reveal?: string } {
  return kind === 'secrets' && ctx.options.has('reveal') ? { reveal: '1' } : {};
}
