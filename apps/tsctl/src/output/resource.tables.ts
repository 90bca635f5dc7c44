/** The tables of `tsctl get`: services, replicas, nodes, events. */
import { Node, Replica, Service, TideEvent, formatCpu, formatMemory, servicePortNumber } from '@tide/api';
import { formatAge, formatTable } from './table';

export interface TableOptions {
  wide: boolean;
  /** Listing several namespaces: a NAMESPACE column first, as kubectl -A does. */
  withNamespace: boolean;
  nowMs?: number;
}

function withNamespaceColumn(options: TableOptions, header: string[], rows: string[][], namespaces: string[]): string {
  if (!options.withNamespace) return formatTable(header, rows);
  return formatTable(['NAMESPACE', ...header], rows.map((row, i) => [namespaces[i], ...row]));
}

export function commandLine(command: string[] = [], args: string[] = []): string {
  return [...command, ...args].map((word) => (/[\s"'$]/.test(word) ? JSON.stringify(word) : word)).join(' ');
}

export function servicesTable(services: Service[], options: TableOptions): string {
  const rows = services.map((s) => {
    const row = [s.metadata.name, `${s.status?.readyReplicas ?? 0}/${s.spec.replicas}`, formatAge(s.metadata.creationTimestamp, options.nowMs), s.spec.image];
    const wide = [s.status?.clusterIP ?? '<pending>', portsText(s), s.spec.restartPolicy ?? 'Always', commandLine(s.spec.command, s.spec.args)];
    return options.wide ? [...row, ...wide] : row;
  });
  const header = ['NAME', 'READY', 'AGE', 'IMAGE'];
  return withNamespaceColumn(options, options.wide ? [...header, 'CLUSTER-IP', 'PORTS', 'RESTART', 'COMMAND'] : header, rows, services.map((s) => s.metadata.namespace));
}

/** As kubectl's PORT(S): "80/TCP,9000:8080/HTTP" (published:port), "<none>". */
function portsText(service: Service): string {
  const ports = (service.spec.ports ?? []).map((p) => `${p.publish ? `${p.publish}:` : ''}${servicePortNumber(p)}/${p.protocol ?? 'TCP'}`);
  return ports.join(',') || '<none>';
}

/** "OOMKilled (137)", "Error (1)", "Killed (SIGKILL)", "-" when it never exited. */
export function lastExitText(replica: Replica): string {
  const exit = replica.status?.lastExit;
  if (!exit) return '-';
  if (exit.code !== null && exit.code !== undefined) return `${exit.reason} (${exit.code})`;
  return exit.signal ? `${exit.reason} (${exit.signal})` : exit.reason;
}

export function replicasTable(replicas: Replica[], options: TableOptions): string {
  const rows = replicas.map((r) => {
    const row = [
      r.metadata.name, r.spec.service, r.spec.nodeName ?? '<none>', replicaPhase(r), r.status?.ready ? '1/1' : '0/1',
      String(r.status?.restartCount ?? 0), lastExitText(r), formatAge(r.metadata.creationTimestamp, options.nowMs),
    ];
    const wide = [r.status?.pid ? String(r.status.pid) : '-', r.status?.ip ?? '-', oneLine(r.status?.message ?? r.status?.unschedulable?.summary ?? '')];
    return options.wide ? [...row, ...wide] : row;
  });
  const header = ['NAME', 'SERVICE', 'NODE', 'PHASE', 'READY', 'RESTARTS', 'LAST-EXIT', 'AGE'];
  return withNamespaceColumn(options, options.wide ? [...header, 'PID', 'IP', 'MESSAGE'] : header, rows, replicas.map((r) => r.metadata.namespace));
}

export function replicaPhase(replica: Replica): string {
  if (replica.metadata.deletionTimestamp) return 'Terminating';
  return replica.status?.phase ?? (replica.spec.nodeName ? 'Scheduled' : 'Pending');
}

/** Requests of the replicas that hold resources on a node (bound, not finished). */
export function requestedOn(node: string, replicas: Replica[]): { cpu: number; memory: number; count: number } {
  const holding = replicas.filter((r) => r.spec.nodeName === node && r.status?.phase !== 'Succeeded' && r.status?.phase !== 'Failed');
  return {
    cpu: holding.reduce((sum, r) => sum + (r.spec.template?.requests.cpuMillis ?? 0), 0),
    memory: holding.reduce((sum, r) => sum + (r.spec.template?.requests.memoryBytes ?? 0), 0),
    count: holding.length,
  };
}

/** kubectl's "Ready,SchedulingDisabled" for a cordoned node; a node being emptied takes no replica either. */
export function nodeStatusText(node: Node): string {
  const unschedulable = node.spec.cordoned || node.spec.drain !== undefined;
  const conditions = (node.status?.conditions ?? []).map((c) => `,${c.type}`).join('');
  return `${node.status?.ready ? 'Ready' : 'NotReady'}${conditions}${unschedulable ? ',SchedulingDisabled' : ''}`;
}

/** CPU and MEMORY are "requested/allocatable". */
export function nodesTable(nodes: Node[], replicas: Replica[], options: TableOptions): string {
  const rows = nodes.map((n) => {
    const requested = requestedOn(n.metadata.name, replicas);
    const allocatable = n.status?.allocatable ?? { cpu: 0, memory: 0 };
    const row = [
      n.metadata.name, nodeStatusText(n), n.spec.address,
      `${formatCpu(requested.cpu)}/${formatCpu(allocatable.cpu)}`, `${formatMemory(requested.memory)}/${formatMemory(allocatable.memory)}`,
      formatAge(n.metadata.creationTimestamp, options.nowMs),
    ];
    return options.wide ? [...row, String(requested.count), n.spec.podCIDR ?? '-', labelsText(n.metadata.labels)] : row;
  });
  const header = ['NAME', 'STATUS', 'ADDRESS', 'CPU', 'MEMORY', 'AGE'];
  return formatTable(options.wide ? [...header, 'REPLICAS', 'POD-CIDR', 'LABELS'] : header, rows);
}

export function eventRow(e: TideEvent, nowMs?: number): string[] {
  return [
    formatAge(e.spec.timestamp, nowMs), e.spec.type, e.spec.reason,
    `${e.spec.involvedObject.kind.toLowerCase()}/${e.spec.involvedObject.name}`, oneLine(e.spec.message),
  ];
}

/** -A adds a leading NAMESPACE column, as for the other kinds. */
export function eventsTable(events: TideEvent[], nowMs?: number, withNamespace = false): string {
  return withNamespaceColumn({ wide: false, withNamespace, nowMs }, ['AGE', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    events.map((e) => eventRow(e, nowMs)), events.map((e) => e.metadata.namespace));
}

export function labelsText(labels: Record<string, string> | undefined): string {
  const pairs = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
