/**
 * `tsctl top nodes` and `tsctl top replicas [-n NS | -A]`: CPU and memory in use, from the usage
 * samples the agents push to the control plane each second, against requests, limits and allocatable.
 */
import { Node, NodeUsage, Replica, ReplicaUsage } from '@tide/api';
import { UsageError } from '../cli/args';
import { topNodesTable, topReplicasTable } from '../output/top.tables';
import { formatStructured, parseOutputFormat } from '../output/table';
import { Command, CommandContext, NAMESPACE_OPTION, namespaceOf, query } from './command';

const USAGE = 'tsctl top nodes|replicas [-n NS | -A] [-o json|yaml]';

export const topCommand: Command = {
  name: 'top',
  usage: USAGE,
  summary: 'CPU and memory in use per node or replica, against requests, limits and allocatable',
  options: [
    NAMESPACE_OPTION,
    { long: 'all-namespaces', short: 'A', boolean: true, help: 'every namespace (replicas)' },
    { long: 'output', short: 'o', help: 'json or yaml (the usage samples)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const what = { node: 'nodes', nodes: 'nodes', no: 'nodes', replica: 'replicas', replicas: 'replicas' }[ctx.args[0] ?? ''];
    if (!what || ctx.args.length > 1) throw new UsageError(`top needs nodes or replicas${ctx.args[0] ? `, got "${ctx.args.join(' ')}"` : ''}\nusage: ${USAGE}`);
    const format = parseOutputFormat(ctx.options.get('output'));
    if (format === 'wide') throw new UsageError('top prints json or yaml with -o, or a table without it');
    const allNamespaces = ctx.options.has('all-namespaces');
    const namespace = allNamespaces ? 'all' : namespaceOf(ctx);
    const replicas = (await ctx.api.get<{ items: Replica[] }>(`/api/v1/replicas${query({ namespace: what === 'nodes' ? 'all' : namespace })}`)).items;
    if (what === 'nodes') {
      const usage = (await ctx.api.get<{ items: NodeUsage[] }>('/api/v1/usage/nodes')).items;
      if (format === 'json' || format === 'yaml') return ctx.out(formatStructured({ items: usage }, format));
      const nodes = (await ctx.api.get<{ items: Node[] }>('/api/v1/nodes')).items;
      if (nodes.length === 0) return ctx.note('No nodes registered.');
      return ctx.out(topNodesTable(nodes, replicas, usage));
    }
    const usage = (await ctx.api.get<{ items: ReplicaUsage[] }>(`/api/v1/usage/replicas${query({ namespace })}`)).items;
    if (format === 'json' || format === 'yaml') return ctx.out(formatStructured({ items: usage }, format));
    if (usage.length === 0) return ctx.note(`No usage of running replicas${allNamespaces ? '' : ` in namespace ${namespace}`} yet (agents report each second).`);
    ctx.out(topReplicasTable(usage, replicas, allNamespaces));
  },
};
