/** apply, get, describe, scale, logs, delete: the API commands of tsctl. */
import { Node, Replica, Service, TideEvent, formatCpu, formatMemory } from '@tide/api';
import { UsageError, intFlag } from '../args';
import { ApiClient, ApiError } from '../client';
import { age, lastExitText, nodesTable, replicasTable, servicesTable, structured, table } from '../format';
import { ManifestError, parseManifests, readSource } from '../manifest';

export interface CommandContext {
  api: ApiClient;
  positionals: string[];
  flags: Map<string, string>;
  out(text: string): void;
}

const KINDS: Record<string, 'services' | 'replicas' | 'nodes' | 'events'> = {
  service: 'services', services: 'services', svc: 'services',
  replica: 'replicas', replicas: 'replicas',
  node: 'nodes', nodes: 'nodes', event: 'events', events: 'events',
};

function kindOf(word: string | undefined): 'services' | 'replicas' | 'nodes' | 'events' {
  const kind = word && KINDS[word];
  if (!kind) throw new UsageError(`expected services, replicas, nodes or events, got "${word ?? ''}"`);
  return kind;
}

function ns(ctx: CommandContext): string {
  return ctx.flags.has('all-namespaces') ? 'all' : ctx.flags.get('namespace') ?? 'default';
}

export async function apply(ctx: CommandContext): Promise<void> {
  const file = ctx.flags.get('filename');
  if (!file) throw new UsageError('apply needs -f FILE (or -f - for stdin)');
  const source = file === '-' ? '<stdin>' : file;
  const { documents, numbers } = parseManifests(readSource(file), source);
  try {
    const { results } = await ctx.api.request<{ results: { kind: string; name: string; action: string }[] }>('POST', '/api/v1/apply', { documents });
    for (const r of results) ctx.out(`${r.kind.toLowerCase()}/${r.name} ${r.action}`);
  } catch (error) {
    if (error instanceof ApiError && error.details.length > 0) {
      const lines = error.details.map((d) => `${source}: document ${numbers[d.document] ?? d.document + 1}: ${d.path}: ${d.message}`);
      throw new ManifestError(`${lines.join('\n')}\nnothing was applied`);
    }
    throw error;
  }
}

export async function get(ctx: CommandContext): Promise<void> {
  const kind = kindOf(ctx.positionals[0]);
  const name = ctx.positionals[1];
  const output = ctx.flags.get('output');
  const query = kind === 'nodes' ? '' : `?namespace=${ns(ctx)}`;
  if (name) {
    const object = await ctx.api.request<unknown>('GET', `/api/v1/${kind}/${name}${query}`);
    if (output && output !== 'wide') return ctx.out(structured(object, output));
    return get({ ...ctx, positionals: [kind], flags: new Map([...ctx.flags, ['only', name]]) });
  }
  const list = await ctx.api.request<{ items: unknown[] }>('GET', `/api/v1/${kind}${query}`);
  const only = ctx.flags.get('only');
  const items = only ? list.items.filter((i) => (i as Service).metadata.name === only) : list.items;
  if (output && output !== 'wide') return ctx.out(structured({ items }, output));
  const wide = output === 'wide';
  if (items.length === 0 && kind !== 'nodes') return ctx.out(`No ${kind} found in namespace ${ns(ctx)}.`);
  if (kind === 'services') return ctx.out(servicesTable(items as Service[], wide));
  if (kind === 'replicas') return ctx.out(replicasTable(items as Replica[], wide));
  if (kind === 'events') return ctx.out(eventsTable(items as TideEvent[]));
  const replicas = (await ctx.api.request<{ items: Replica[] }>('GET', '/api/v1/replicas?namespace=all')).items;
  ctx.out(nodesTable(items as Node[], replicas, wide));
}

function eventsTable(events: TideEvent[]): string {
  return table(['AGE', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], events.map((e) => [
    age(e.spec.timestamp), e.spec.type, e.spec.reason, `${e.spec.involvedObject.kind.toLowerCase()}/${e.spec.involvedObject.name}`, e.spec.message,
  ]));
}

export async function describe(ctx: CommandContext): Promise<void> {
  const kind = kindOf(ctx.positionals[0]);
  const name = ctx.positionals[1];
  if (!name || kind === 'events') throw new UsageError('usage: tsctl describe service|replica|node NAME');
  const namespace = ns(ctx) === 'all' ? 'default' : ns(ctx);
  const object = await ctx.api.request<Service | Replica | Node>('GET', `/api/v1/${kind}/${name}${kind === 'nodes' ? '' : `?namespace=${namespace}`}`);
  const lines = [`Name:        ${object.metadata.name}`, `Namespace:   ${object.metadata.namespace}`, `Created:     ${object.metadata.creationTimestamp} (${age(object.metadata.creationTimestamp)} ago)`];
  if (object.kind === 'Service') lines.push(...describeService(object));
  if (object.kind === 'Replica') lines.push(...describeReplica(object));
  if (object.kind === 'Node') lines.push(...describeNode(object));
  const events = await ctx.api.request<{ items: TideEvent[] }>('GET', `/api/v1/events?namespace=${object.kind === 'Node' ? 'default' : namespace}&kind=${object.kind}&name=${name}`);
  lines.push('Events:', events.items.length ? indent(eventsTable(events.items.slice(-15))) : '  <none>');
  ctx.out(lines.join('\n'));
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

function describeService(s: Service): string[] {
  const r = s.spec.resources;
  return [
    `Image:       ${s.spec.image}`,
    `Command:     ${JSON.stringify([...(s.spec.command ?? []), ...(s.spec.args ?? [])])}`,
    `Replicas:    ${s.spec.replicas} desired | ${s.status?.runningReplicas ?? 0} running | ${s.status?.readyReplicas ?? 0} ready | ${s.status?.pendingReplicas ?? 0} pending`,
    `Requests:    cpu ${r?.requests?.cpu ?? '100m (default)'}, memory ${r?.requests?.memory ?? '64Mi (default)'}`,
    `Limits:      cpu ${r?.limits?.cpu ?? 'none'}, memory ${r?.limits?.memory ?? 'none'}`,
    `Restart:     ${s.spec.restartPolicy ?? 'Always'}, grace ${s.spec.terminationGracePeriodSeconds ?? 30}s`,
    `Generation:  ${s.metadata.generation} (observed ${s.status?.observedGeneration ?? '-'})`,
  ];
}

function describeReplica(r: Replica): string[] {
  const t = r.spec.template;
  const lines = [
    `Service:     ${r.spec.service}`, `Node:        ${r.spec.nodeName ?? '<none>'}`,
    `Phase:       ${r.status?.phase ?? 'Pending'}${r.status?.ready ? ' (ready)' : ''}`,
    `Image:       ${t.image}`, `Command:     ${JSON.stringify([...t.command, ...t.args])}`,
    `Requests:    cpu ${formatCpu(t.requests.cpuMillis)}, memory ${formatMemory(t.requests.memoryBytes)}`,
    `Restarts:    ${r.status?.restartCount ?? 0}`, `Last exit:   ${lastExitText(r)}${r.status?.lastExit ? ` at ${r.status.lastExit.finishedAt}` : ''}`,
  ];
  if (r.status?.pid) lines.push(`PID:         ${r.status.pid} (on the node)`);
  if (r.status?.message) lines.push(`Message:     ${r.status.message}`);
  const unschedulable = r.status?.unschedulable;
  if (unschedulable && !r.spec.nodeName) {
    lines.push(`Unschedulable: ${unschedulable.summary}`);
    for (const [node, reason] of Object.entries(unschedulable.nodes)) lines.push(`  ${node}: ${reason}`);
  }
  return lines;
}

function describeNode(n: Node): string[] {
  const a = n.status?.allocatable;
  return [
    `Address:     ${n.spec.address}:${n.spec.agentPort ?? '-'}`,
    `Status:      ${n.status?.ready ? 'Ready' : 'NotReady'}${n.spec.cordoned ? ', cordoned' : ''}${n.status?.message ? ` (${n.status.message})` : ''}`,
    `Allocatable: cpu ${a ? formatCpu(a.cpu) : '-'}, memory ${a ? formatMemory(a.memory) : '-'}`,
    `Labels:      ${Object.entries(n.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '<none>'}`,
  ];
}

export async function scale(ctx: CommandContext): Promise<void> {
  const [kind, name] = ctx.positionals;
  if (kindOf(kind) !== 'services' || !name) throw new UsageError('usage: tsctl scale service NAME --replicas N');
  if (!ctx.flags.has('replicas')) throw new UsageError('scale needs --replicas N');
  const replicas = intFlag(ctx.flags, 'replicas', 0, 0);
  await ctx.api.request('PUT', `/api/v1/services/${name}/scale?namespace=${ns(ctx)}`, { replicas });
  ctx.out(`service/${name} scaled to ${replicas}`);
}

export async function logs(ctx: CommandContext): Promise<void> {
  const name = ctx.positionals[0];
  if (!name) throw new UsageError('usage: tsctl logs REPLICA [-f]');
  const follow = ctx.flags.has('follow');
  const response = await ctx.api.fetch('GET', `/api/v1/replicas/${name}/logs?namespace=${ns(ctx)}${follow ? '&follow=1' : ''}`);
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    throw new ApiError(body.error ?? `${response.status} ${response.statusText}`, response.status);
  }
  if (!response.body) return;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
}

export async function remove(ctx: CommandContext): Promise<void> {
  const file = ctx.flags.get('filename');
  const targets: { kind: string; name: string; namespace: string }[] = [];
  if (file) {
    const { documents } = parseManifests(readSource(file), file === '-' ? '<stdin>' : file);
    for (const doc of documents as { kind?: string; metadata?: { name?: string; namespace?: string } }[]) {
      if (doc.kind !== 'Service' || !doc.metadata?.name) throw new ManifestError(`${file}: only Services with a metadata.name can be deleted`);
      targets.push({ kind: 'services', name: doc.metadata.name, namespace: doc.metadata.namespace ?? 'default' });
    }
  } else {
    const [kind, name] = ctx.positionals;
    if (kindOf(kind) !== 'services' || !name) throw new UsageError('usage: tsctl delete service NAME | delete -f FILE');
    targets.push({ kind: 'services', name, namespace: ns(ctx) });
  }
  for (const t of targets) {
    await ctx.api.request('DELETE', `/api/v1/${t.kind}/${t.name}?namespace=${t.namespace}`);
    ctx.out(`service/${t.name} deleted`);
  }
}
