/** `tsctl describe service|replica|node NAME`: the object's fields, related objects and recent events. */
import { Kind, Node, Replica, Service, TideEvent } from '@tide/api';
import { UsageError } from '../cli/args';
import { describeNode, describeReplica, describeService } from '../output/describe.format';
import { Command, CommandContext, NAMESPACE_OPTION, namespaceOf, parseKind, query } from './command';
import { getOne } from './get.command';

const USAGE = 'tsctl describe service|replica|node NAME [-n NS]';

export const describeCommand: Command = {
  name: 'describe',
  usage: USAGE,
  summary: 'fields and recent events of one object; a Pending replica says why, per node',
  options: [NAMESPACE_OPTION],
  async run(ctx: CommandContext): Promise<void> {
    const target = parseKind(ctx.args[0], ['services', 'replicas', 'nodes'], USAGE);
    const name = target.name ?? ctx.args[1];
    if (!name) throw new UsageError(`describe needs a NAME\nusage: ${USAGE}`);
    const namespace = namespaceOf(ctx);
    if (target.kind === 'services') {
      const service = await getOne<Service>(ctx, 'services', name, namespace);
      const replicas = await ctx.api.get<{ items: Replica[] }>(`/api/v1/replicas${query({ namespace, service: name })}`);
      return ctx.out(describeService(service, replicas.items, await events(ctx, 'Service', namespace, name)));
    }
    if (target.kind === 'replicas') {
      const replica = await getOne<Replica>(ctx, 'replicas', name, namespace);
      return ctx.out(describeReplica(replica, await events(ctx, 'Replica', namespace, name)));
    }
    const node = await getOne<Node>(ctx, 'nodes', name, 'default');
    const replicas = await ctx.api.get<{ items: Replica[] }>('/api/v1/replicas?namespace=all');
    ctx.out(describeNode(node, replicas.items, await events(ctx, 'Node', node.metadata.namespace || 'default', name)));
  },
};

/** Events are a convenience: a failure to read them does not fail describe. */
async function events(ctx: CommandContext, kind: Kind, namespace: string, name: string): Promise<TideEvent[]> {
  try {
    const list = await ctx.api.get<{ items: TideEvent[] }>(`/api/v1/events${query({ namespace, kind, name })}`);
    return list.items;
  } catch (error) {
    ctx.note(`warning: cannot read events: ${(error as Error).message}`);
    return [];
  }
}
