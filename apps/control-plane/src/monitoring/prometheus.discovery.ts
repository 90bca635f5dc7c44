/**
 * Prometheus HTTP service discovery (http_sd_config): one target group per node, its agent's
 * address and port, with `__meta_tide_*` labels for relabelling. No plain target labels: every
 * series of an agent already carries `node`, and a target label of the same name would rename the
 * series' own to `exported_node`.
 */
import { Node } from '@tide/api';

export interface PrometheusTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Prometheus label names are [a-zA-Z_][a-zA-Z0-9_]*. */
function labelName(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, '_');
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function prometheusTargets(nodes: Node[]): PrometheusTargetGroup[] {
  return nodes.filter((n) => n.spec.address && n.spec.agentPort)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((n) => {
      const labels: Record<string, string> = {
        __meta_tide_node_name: n.metadata.name,
        __meta_tide_node_address: n.spec.address,
        __meta_tide_node_ready: String(n.status?.ready ?? false),
        __meta_tide_node_cordoned: String(n.spec.cordoned ?? false),
      };
      if (n.spec.podCIDR) labels.__meta_tide_node_pod_cidr = n.spec.podCIDR;
      for (const [key, value] of Object.entries(n.metadata.labels ?? {})) labels[`__meta_tide_node_label_${labelName(key)}`] = value;
      return { targets: [hostPort(n.spec.address, n.spec.agentPort!)], labels };
    });
}
