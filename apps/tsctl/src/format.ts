/** kubectl-like output: aligned tables, ages, and -o json|yaml. */
import { stringify } from 'yaml';
import { Node, Replica, Service, formatCpu, formatMemory } from '@tide/api';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function structured(value: unknown, format: string): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  if (format === 'yaml') return stringify(value).trimEnd();
  throw new Error(`unknown output format "${format}" (use json, yaml or wide)`);
}

export function servicesTable(items: Service[], wide: boolean): string {
  const rows = items.map((s) => {
    const row = [s.metadata.name, `${s.status?.readyReplicas ?? 0}/${s.spec.replicas}`, age(s.metadata.creationTimestamp), s.spec.image];
    return wide ? [...row, s.metadata.namespace, [...(s.spec.command ?? []), ...(s.spec.args ?? [])].join(' ')] : row;
  });
  return table(wide ? ['NAME', 'READY', 'AGE', 'IMAGE', 'NAMESPACE', 'COMMAND'] : ['NAME', 'READY', 'AGE', 'IMAGE'], rows);
}

export function lastExitText(replica: Replica): string {
  const exit = replica.status?.lastExit;
  if (!exit) return '-';
  return `${exit.reason}${exit.code !== null ? ` (${exit.code})` : exit.signal ? ` (${exit.signal})` : ''}`;
}

export function replicasTable(items: Replica[], wide: boolean): string {
  const rows = items.map((r) => {
    const row = [
      r.metadata.name, r.spec.service, r.spec.nodeName ?? '<none>', r.status?.phase ?? 'Pending',
      r.status?.ready ? 'true' : 'false', String(r.status?.restartCount ?? 0), lastExitText(r), age(r.metadata.creationTimestamp),
    ];
    return wide ? [...row, r.status?.pid ? String(r.status.pid) : '-', r.status?.message ?? ''] : row;
  });
  const header = ['NAME', 'SERVICE', 'NODE', 'PHASE', 'READY', 'RESTARTS', 'LAST-EXIT', 'AGE'];
  return table(wide ? [...header, 'PID', 'MESSAGE'] : header, rows);
}

export function nodesTable(items: Node[], replicas: Replica[], wide: boolean): string {
  const rows = items.map((n) => {
    const mine = replicas.filter((r) => r.spec.nodeName === n.metadata.name && r.status?.phase !== 'Succeeded' && r.status?.phase !== 'Failed');
    const cpu = mine.reduce((sum, r) => sum + r.spec.template.requests.cpuMillis, 0);
    const memory = mine.reduce((sum, r) => sum + r.spec.template.requests.memoryBytes, 0);
    const status = `${n.status?.ready ? 'Ready' : 'NotReady'}${n.spec.cordoned ? ',SchedulingDisabled' : ''}`;
    const allocatable = n.status?.allocatable ?? { cpu: 0, memory: 0 };
    const row = [n.metadata.name, status, n.spec.address, `${formatCpu(cpu)}/${formatCpu(allocatable.cpu)}`,
      `${formatMemory(memory)}/${formatMemory(allocatable.memory)}`, age(n.metadata.creationTimestamp)];
    return wide ? [...row, String(mine.length), Object.entries(n.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')] : row;
  });
  const header = ['NAME', 'STATUS', 'ADDRESS', 'CPU(REQ/ALLOC)', 'MEMORY(REQ/ALLOC)', 'AGE'];
  return table(wide ? [...header, 'REPLICAS', 'LABELS'] : header, rows);
}
