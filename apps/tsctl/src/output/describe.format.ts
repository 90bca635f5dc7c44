/** `tsctl describe` text: aligned "Field: value" lines, sub-tables, and the recent events. */
import { EnvValue, Node, Replica, Service, TideEvent, formatCpu, formatMemory, serviceDnsName, servicePortNumber } from '@tide/api';
import { autoscaleSection } from './autoscale.format';
import { commandLine, eventsTable, labelsText, lastExitText, nodeStatusText, replicaPhase, replicasTable, requestedOn } from './resource.tables';
import { fields, formatAge, indent } from './table';

const RECENT_EVENTS = 20;

function created(timestamp: string | undefined, nowMs?: number): string | undefined {
  return timestamp ? `${timestamp} (${formatAge(timestamp, nowMs)} ago)` : undefined;
}

export function eventsSection(events: TideEvent[], nowMs?: number): string[] {
  if (events.length === 0) return ['Events:  <none>'];
  return ['Events:', indent(eventsTable(events.slice(-RECENT_EVENTS), nowMs))];
}

function quantity(cpu: string | number | undefined, memory: string | number | undefined, fallback: string): string {
  if (cpu === undefined && memory === undefined) return fallback;
  return [cpu !== undefined ? `cpu ${cpu}` : undefined, memory !== undefined ? `memory ${memory}` : undefined].filter(Boolean).join(', ');
}

/** A value, or where it comes from (kubectl's `<set to the key 'k' in secret 's'>`). */
function envText(value: EnvValue): string {
  if (typeof value === 'string') return value;
  const configMap = value.valueFrom.configMapKeyRef;
  const ref = configMap ?? value.valueFrom.secretKeyRef;
  return `<set to the key '${ref?.key}' of ${configMap ? 'config map' : 'secret'} '${ref?.name}'>`;
}

export function describeService(s: Service, replicas: Replica[], events: TideEvent[], nowMs?: number): string {
  const r = s.spec.resources;
  const st = s.status;
  const lines = fields([
    ['Name', s.metadata.name], ['Namespace', s.metadata.namespace], ['Labels', labelsText(s.metadata.labels)],
    ['Created', created(s.metadata.creationTimestamp, nowMs)],
    ['Image', s.spec.image], ['Command', commandLine(s.spec.command, s.spec.args) || '<image default>'],
    ['Working dir', s.spec.workingDir],
    ['Env', Object.entries(s.spec.env ?? {}).map(([k, v]) => `${k}=${envText(v)}`).join(', ') || undefined],
    ['Replicas', `${s.spec.replicas} desired | ${st?.runningReplicas ?? 0} running | ${st?.readyReplicas ?? 0} ready | ${st?.pendingReplicas ?? 0} pending`],
    ['Requests', quantity(r?.requests?.cpu, r?.requests?.memory, '<defaults>')],
    ['Limits', quantity(r?.limits?.cpu, r?.limits?.memory, '<none>')],
    ['Restart policy', s.spec.restartPolicy ?? 'Always'],
    ['Grace period', `${s.spec.terminationGracePeriodSeconds ?? 30}s`],
    ['IP', st?.clusterIP ? `${st.clusterIP} (${serviceDnsName(s.metadata.namespace, s.metadata.name)})` : '<pending>'],
    ['Ports', (s.spec.ports ?? []).map((p) => `${p.name ? `${p.name} ` : ''}${servicePortNumber(p)}${p.port !== undefined && p.port !== p.containerPort ? ` → ${p.containerPort}` : ''}`
      + `/${p.protocol ?? 'TCP'}${p.publish ? ` (published on ${p.publish})` : ''}`).join(', ') || undefined],
    ['Generation', s.metadata.generation !== undefined ? `${s.metadata.generation} (observed ${st?.observedGeneration ?? '-'})` : undefined],
  ]);
  const replicaLines = replicas.length ? ['Replicas:', indent(replicasTable(replicas, { wide: false, withNamespace: false, nowMs }))] : ['Replicas:  <none>'];
  return [...lines, ...autoscaleSection(s, nowMs), ...replicaLines, ...eventsSection(events, nowMs)].join('\n');
}

export function describeReplica(r: Replica, events: TideEvent[], nowMs?: number): string {
  const t = r.spec.template;
  const st = r.status;
  const lines = fields([
    ['Name', r.metadata.name], ['Namespace', r.metadata.namespace], ['Service', r.spec.service],
    ['Node', r.spec.nodeName ?? '<none>'], ['Created', created(r.metadata.creationTimestamp, nowMs)],
    ['Replaces', r.spec.replaces ? `${r.spec.replaces.replica} (${r.spec.replaces.reason}${r.spec.replaces.fromNode ? ` of node ${r.spec.replaces.fromNode}` : ''})` : undefined],
    ['Phase', replicaPhase(r)], ['Ready', st?.ready ? 'true' : 'false'],
    ['Image', t?.image], ['Command', t ? commandLine(t.command, t.args) || '<image default>' : undefined],
    ['Requests', t ? `cpu ${formatCpu(t.requests.cpuMillis)}, memory ${formatMemory(t.requests.memoryBytes)}` : undefined],
    ['Limits', t ? limitsText(t.limits) : undefined],
    ['Restart policy', t?.restartPolicy], ['Network', t?.network],
    ['Restarts', String(st?.restartCount ?? 0)],
    ['Last exit', st?.lastExit ? `${lastExitText(r)} at ${st.lastExit.finishedAt}` : undefined],
    ['Started', st?.startedAt], ['PID', st?.pid ? `${st.pid} (on the node)` : undefined], ['IP', st?.ip],
    ['Template hash', r.spec.templateHash],
    // The scheduler's message is the Unschedulable summary below: not twice.
    ['Message', st?.message === st?.unschedulable?.summary && !r.spec.nodeName ? undefined : st?.message],
  ]);
  return [...lines, ...unschedulableSection(r), ...eventsSection(events, nowMs)].join('\n');
}

function limitsText(limits: { cpuMillis?: number; memoryBytes?: number; pids?: number }): string {
  const parts = [
    limits.cpuMillis ? `cpu ${formatCpu(limits.cpuMillis)}` : undefined,
    limits.memoryBytes ? `memory ${formatMemory(limits.memoryBytes)}` : undefined,
    limits.pids ? `pids ${limits.pids}` : undefined,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : '<none>';
}

/** Up to this many nodes, one line per node; beyond, one line per reason naming its nodes. */
const NODE_LINES = 20;

/**
 * Why a Pending replica is not placed: the scheduler's summary and its reason for every node, one
 * line per node on small clusters; on large ones one line per reason with every node it applies to
 * (a 500-node cluster would otherwise print 500 lines), most frequent reason first.
 */
function unschedulableSection(r: Replica): string[] {
  const unschedulable = r.status?.unschedulable;
  if (!unschedulable || r.spec.nodeName) return [];
  const nodes = Object.entries(unschedulable.nodes).sort(([a], [b]) => a.localeCompare(b));
  const heading = `Unschedulable: ${unschedulable.summary}`;
  if (nodes.length <= NODE_LINES) return [heading, ...nodes.map(([node, reason]) => `  ${node}: ${reason}`)];
  const byReason = new Map<string, string[]>();
  for (const [node, reason] of nodes) byReason.set(reason, [...(byReason.get(reason) ?? []), node]);
  const grouped = [...byReason.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  return [heading, ...grouped.map(([reason, names]) => `  ${reason} (${names.length}): ${names.join(', ')}`)];
}

export function describeNode(n: Node, replicas: Replica[], events: TideEvent[], nowMs?: number): string {
  const capacity = n.status?.capacity;
  const allocatable = n.status?.allocatable;
  const requested = requestedOn(n.metadata.name, replicas);
  const percent = (used: number, total: number | undefined) => (total ? ` (${Math.round((used * 100) / total)}%)` : '');
  const lines = fields([
    ['Name', n.metadata.name], ['Labels', labelsText(n.metadata.labels)], ['Created', created(n.metadata.creationTimestamp, nowMs)],
    ['Address', `${n.spec.address}${n.spec.agentPort ? ` (agent port ${n.spec.agentPort})` : ''}`], ['Pod CIDR', n.spec.podCIDR],
    ['Status', `${nodeStatusText(n)}${n.status?.message ? ` (${n.status.message})` : ''}`],
    ['Last heartbeat', n.status?.lastHeartbeat ? `${n.status.lastHeartbeat} (${formatAge(n.status.lastHeartbeat, nowMs)} ago)` : undefined],
    ['NotReady since', n.status?.notReadySince],
    ...(n.status?.conditions ?? []).map((c): [string, string] => [c.type, `since ${c.lastTransitionTime}: ${c.message}`]),
    ['Emptying', n.spec.drain ? `${n.spec.drain.reason} since ${n.spec.drain.startedAt}` : undefined],
    ['Capacity', capacity ? `cpu ${formatCpu(capacity.cpu)}, memory ${formatMemory(capacity.memory)}` : undefined],
    ['Allocatable', allocatable ? `cpu ${formatCpu(allocatable.cpu)}, memory ${formatMemory(allocatable.memory)}` : undefined],
    ['Requested', `cpu ${formatCpu(requested.cpu)}${percent(requested.cpu, allocatable?.cpu)}, memory ${formatMemory(requested.memory)}${percent(requested.memory, allocatable?.memory)}`],
  ]);
  const mine = replicas.filter((r) => r.spec.nodeName === n.metadata.name);
  const replicaLines = mine.length ? [`Replicas (${mine.length}):`, indent(replicasTable(mine, { wide: false, withNamespace: true, nowMs }))] : ['Replicas:  <none>'];
  return [...lines, ...replicaLines, ...eventsSection(events, nowMs)].join('\n');
}
