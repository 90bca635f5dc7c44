/** The tables of `tsctl top nodes|replicas`: usage from the agents against requests, limits and allocatable. */
import { Node, NodeUsage, Replica, ReplicaUsage, formatCpu } from '@tide/api';
import { requestedOn } from './resource.tables';
import { formatTable } from './table';

/** Cores as kubectl top prints them: whole millicores ("152m"). */
export function formatCores(cores: number | null | undefined): string {
  return cores === null || cores === undefined ? '<unknown>' : `${Math.round(cores * 1000)}m`;
}

/** Working sets as kubectl top prints them: whole MiB ("85Mi"). */
export function formatMiB(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

function percent(used: number, of: number): string {
  return of > 0 ? `${Math.round((used * 100) / of)}%` : '-';
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : formatMiB(bytes);
}

/** CPU% and MEMORY% are of allocatable; the requests columns are "requested/allocatable" as in `get nodes`. */
export function topNodesTable(nodes: Node[], replicas: Replica[], usage: NodeUsage[]): string {
  const rows = nodes.map((n) => {
    const used = usage.find((u) => u.node === n.metadata.name);
    const allocatable = n.status?.allocatable ?? { cpu: 0, memory: 0 };
    const requested = requestedOn(n.metadata.name, replicas);
    const cpuRequests = `${formatCpu(requested.cpu)}/${formatCpu(allocatable.cpu)}`;
    const memoryRequests = `${formatMiB(requested.memory)}/${formatMiB(allocatable.memory)}`;
    if (!used) return [n.metadata.name, '<unknown>', '<unknown>', cpuRequests, '<unknown>', '<unknown>', memoryRequests];
    return [
      n.metadata.name, formatCores(used.cpuCores), percent(used.cpuCores * 1000, allocatable.cpu), cpuRequests,
      formatMiB(used.memoryWorkingSetBytes), percent(used.memoryWorkingSetBytes, allocatable.memory), memoryRequests,
    ];
  });
  return formatTable(['NAME', 'CPU(cores)', 'CPU%', 'CPU-REQUESTS', 'MEMORY(bytes)', 'MEMORY%', 'MEMORY-REQUESTS'], rows);
}

/** One row per replica with a usage sample; requests and limits from its template ("-": no limit). */
export function topReplicasTable(usage: ReplicaUsage[], replicas: Replica[], withNamespace: boolean): string {
  const rows = usage.map((u) => {
    const template = replicas.find((r) => r.metadata.namespace === u.namespace && r.metadata.name === u.name)?.spec.template;
    const row = [
      u.name, u.node, formatCores(u.cpuCores),
      template ? formatCpu(template.requests.cpuMillis) : '-', template?.limits.cpuMillis ? formatCpu(template.limits.cpuMillis) : '-',
      formatMiB(u.memoryWorkingSetBytes), mib(template?.requests.memoryBytes), mib(template?.limits.memoryBytes),
    ];
    return withNamespace ? [u.namespace, ...row] : row;
  });
  const header = ['NAME', 'NODE', 'CPU(cores)', 'CPU-REQUEST', 'CPU-LIMIT', 'MEMORY(bytes)', 'MEMORY-REQUEST', 'MEMORY-LIMIT'];
  return formatTable(withNamespace ? ['NAMESPACE', ...header] : header, rows);
}
