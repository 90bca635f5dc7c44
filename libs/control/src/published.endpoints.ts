/**
 * Which replicas every node's load balancer sends a published port's traffic to: the ready ones.
 * Pure: the publisher pushes the result to every agent. A replica leaves the set as soon as it is
 * not ready, marked for deletion (so it stops receiving traffic before it is stopped), or on a
 * node that is not Ready (its status is stale).
 */
import {
  Endpoint, Node, PublishProtocol, Replica, Service, ServiceAddress, ServiceEndpoints, ServicePort, servicePortNumber,
} from '@tide/api';

/** ServicePort.protocol's default: TCP carries any protocol, HTTP included (see ServicePort). */
export const DEFAULT_PROTOCOL: PublishProtocol = 'TCP';

export function publishedPorts(services: Service[], replicas: Replica[], nodes: Node[]): ServiceEndpoints[] {
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const byService = servingByService(replicas, nodeByName);
  const out: ServiceEndpoints[] = [];
  for (const service of [...services].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))) {
    const serving = (byService.get(keyOf(service)) ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const port of service.spec.ports ?? []) {
      if (!port.publish) continue;
      out.push({
        namespace: service.metadata.namespace, service: service.metadata.name, publish: port.publish,
        protocol: port.protocol ?? DEFAULT_PROTOCOL,
        endpoints: serving.flatMap((replica) => endpointOf(replica, port.publish!, nodeByName.get(replica.spec.nodeName!)!)),
      });
    }
  }
  return out;
}

/**
 * Every service that has its virtual IP, with each port's ready replicas (the same rule as for
 * published ports). A replica is behind a port when its own template has a port of that number
 * (`port`, default `containerPort`): during a rollout old and new replicas may differ.
 */
export function serviceAddresses(services: Service[], replicas: Replica[], nodes: Node[]): ServiceAddress[] {
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const byService = servingByService(replicas, nodeByName);
  return [...services].filter((s) => s.status?.clusterIP).sort((a, b) => keyOf(a).localeCompare(keyOf(b))).map((service) => {
    const serving = (byService.get(keyOf(service)) ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return {
      namespace: service.metadata.namespace, service: service.metadata.name, ip: service.status!.clusterIP!,
      ports: (service.spec.ports ?? []).map((port) => ({
        ...(port.name !== undefined ? { name: port.name } : {}),
        port: servicePortNumber(port), protocol: port.protocol ?? DEFAULT_PROTOCOL,
        endpoints: serving.flatMap((replica) => virtualEndpointOf(replica, port, nodeByName.get(replica.spec.nodeName!)!)),
      })),
    };
  });
}

function servingByService(replicas: Replica[], nodeByName: Map<string, Node>): Map<string, Replica[]> {
  const byService = new Map<string, Replica[]>();
  for (const replica of replicas) {
    if (!isServing(replica, nodeByName)) continue;
    const key = `${replica.metadata.namespace}/${replica.spec.service}`;
    const serving = byService.get(key);
    if (serving) serving.push(replica);
    else byService.set(key, [replica]);
  }
  return byService;
}

function virtualEndpointOf(replica: Replica, servicePort: ServicePort, node: Node): Endpoint[] {
  const template = replica.spec.template;
  const number = servicePortNumber(servicePort);
  const port = template.ports.find((p) => servicePortNumber(p) === number);
  const address = template.network === 'host' ? node.spec.address : replica.status?.ip;
  if (!port || !address) return [];
  return [{ address, port: port.containerPort, replica: replica.metadata.name, nodeName: node.metadata.name }];
}

function keyOf(service: Service): string {
  return `${service.metadata.namespace}/${service.metadata.name}`;
}

function isServing(replica: Replica, nodes: Map<string, Node>): boolean {
  const node = replica.spec.nodeName ? nodes.get(replica.spec.nodeName) : undefined;
  return !replica.metadata.deletionTimestamp && replica.status?.phase === 'Running' && replica.status.ready === true
    && node?.status?.ready === true;
}

/**
 * The replica's own template says which containerPort serves the published port (during a rollout
 * old and new replicas may differ); a template that does not publish it is not behind it.
 */
function endpointOf(replica: Replica, publish: number, node: Node): Endpoint[] {
  const template = replica.spec.template;
  const port = template.ports.find((p) => p.publish === publish);
  const address = template.network === 'host' ? node.spec.address : replica.status?.ip;
  if (!port || !address) return [];
  return [{ address, port: port.containerPort, replica: replica.metadata.name, nodeName: node.metadata.name }];
}
