import { ReplicaTemplate } from '@tide/api';
import { FilterPlugin } from '../types';
import { FITS } from './node-status.plugin';

/**
 * The ports a replica binds on its node's own address. A `network: host` replica shares the node's
 * network namespace, so each containerPort is a port of the node: two such replicas with the same
 * port cannot share a node. A bridge replica binds inside its own namespace: no host port.
 * `publish` is not a per-node port: it is the port every node's load balancer listens on for the
 * service, whether or not a replica runs there, so it never decides between nodes (a host replica
 * whose containerPort equals some service's publish port collides on every node: that is a
 * cluster-wide conflict for validation, not a placement choice).
 */
export function hostPortsOf(template: Pick<ReplicaTemplate, 'network' | 'ports'>): number[] {
  return template.network === 'host' ? template.ports.map((port) => port.containerPort) : [];
}

export const hostPortsFree: FilterPlugin = {
  name: 'HostPorts',
  scope: 'node',
  filter: (replica, node) => {
    if (!replica.hostPorts || !node.hostPorts) return FITS;
    for (const port of replica.hostPorts) {
      if (node.hostPorts.has(port)) return { fits: false, reason: `host port ${port} in use` };
    }
    return FITS;
  },
};
