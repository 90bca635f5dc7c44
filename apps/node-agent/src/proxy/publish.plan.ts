/**
 * Which ports the node publishes and where each forwards to: every `publish` port of a service with
 * running replicas on this node, to those replicas' address and containerPort (a host-network
 * replica listens on the node's own address). Pure: the forwarder applies the plan.
 */

export interface Target {
  host: string;
  port: number;
}

/** A running replica of the node, as the proxy needs it. */
export interface PublishedReplica {
  namespace: string;
  service: string;
  name: string;
  network: string;
  /** The container's address on the bridge (bridge replicas only). */
  ip?: string;
  ports: { containerPort: number; publish: number }[];
}

export interface PublishEntry {
  /** "namespace/service" the port belongs to. */
  service: string;
  targets: Target[];
}

export interface PublishPlan {
  ports: Map<number, PublishEntry>;
  /** Ports two services want; the first (by namespace/name) has it. */
  conflicts: string[];
}

export function planPublishedPorts(replicas: PublishedReplica[], nodeAddress: string): PublishPlan {
  const ports = new Map<number, PublishEntry>();
  const conflicts: string[] = [];
  const sorted = [...replicas].sort((a, b) => `${a.namespace}/${a.service}/${a.name}`.localeCompare(`${b.namespace}/${b.service}/${b.name}`));
  for (const replica of sorted) {
    const service = `${replica.namespace}/${replica.service}`;
    const host = replica.network === 'bridge' ? replica.ip : nodeAddress;
    if (!host) continue; // a bridge replica not wired yet
    for (const { containerPort, publish } of replica.ports) {
      if (!publish) continue;
      const entry = ports.get(publish) ?? { service, targets: [] };
      if (entry.service !== service) {
        const conflict = `port ${publish}: wanted by ${service} and by ${entry.service}, which has it`;
        if (!conflicts.includes(conflict)) conflicts.push(conflict);
        continue;
      }
      entry.targets.push({ host, port: containerPort });
      ports.set(publish, entry);
    }
  }
  return { ports, conflicts };
}
