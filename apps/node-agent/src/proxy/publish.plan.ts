/**
 * What the node's load balancer listens on and where each port sends traffic, from the endpoints
 * the control plane pushes (ready replicas of every node). The agent knows its own replicas first:
 * a local replica the agent does not count ready (its readiness probe just failed, it is being
 * stopped) is left out before the control plane has said so. Pure.
 */
import { ServiceEndpoints } from '@tide/api';
import type { PortPlan } from './load.balancer';

export interface PublishPlan {
  ports: Map<number, PortPlan>;
  /** Ports two services want; the first (by namespace/name) has it. */
  conflicts: string[];
}

export interface LocalReplicas {
  node: string;
  /** Whether the agent counts its replica "namespace/name" ready now. */
  isReady(key: string): boolean;
}

export function planPublishedPorts(published: ServiceEndpoints[], local: LocalReplicas): PublishPlan {
  const ports = new Map<number, PortPlan>();
  const conflicts: string[] = [];
  const sorted = [...published].sort((a, b) => `${a.namespace}/${a.service}`.localeCompare(`${b.namespace}/${b.service}`));
  for (const entry of sorted) {
    const service = `${entry.namespace}/${entry.service}`;
    const holder = ports.get(entry.publish);
    if (holder && holder.service !== service) {
      conflicts.push(`port ${entry.publish}: wanted by ${service} and by ${holder.service}, which has it`);
      continue;
    }
    const targets = entry.endpoints
      .filter((e) => e.nodeName !== local.node || local.isReady(`${entry.namespace}/${e.replica}`))
      .map((e) => ({ host: e.address, port: e.port, replica: e.replica }));
    ports.set(entry.publish, { service, protocol: entry.protocol, targets });
  }
  return { ports, conflicts };
}
