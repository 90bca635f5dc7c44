/**
 * What the node's balancer serves on the services' virtual IPs: one listener per (IP, port), each
 * with the ready replicas of every node (the agent drops its own replicas it no longer counts ready
 * before the control plane says so, as for published ports). Pure.
 */
import { ServiceAddress } from '@tide/api';
import type { Target } from '../proxy/backend.set';
import type { LocalReplicas } from '../proxy/publish.plan';

export interface VirtualListenerPlan {
  ip: string;
  port: number;
  /** "namespace/name" */
  service: string;
  protocol: 'HTTP' | 'TCP';
  targets: Target[];
}

/** "IP:PORT", the key of a listener. */
export function virtualKey(ip: string, port: number): string {
  return `${ip}:${port}`;
}

export function planServiceIps(services: ServiceAddress[], local: LocalReplicas): Map<string, VirtualListenerPlan> {
  const plans = new Map<string, VirtualListenerPlan>();
  for (const service of services) {
    const name = `${service.namespace}/${service.service}`;
    for (const port of service.ports) {
      const targets = port.endpoints
        .filter((e) => e.nodeName !== local.node || local.isReady(`${service.namespace}/${e.replica}`))
        .map((e) => ({ host: e.address, port: e.port, replica: e.replica }));
      plans.set(virtualKey(service.ip, port.port), { ip: service.ip, port: port.port, service: name, protocol: port.protocol, targets });
    }
  }
  return plans;
}
