import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, Service, ServicePort, replicaTemplate } from '@tide/api';
import { publishedPorts, serviceAddresses } from './published.endpoints';

const ports: ServicePort[] = [{ name: 'http', containerPort: 8080, publish: 18080, protocol: 'HTTP' }];

function service(name = 'web', extra: Partial<Service['spec']> = {}): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { replicas: 2, image: 'node', ports, ...extra } };
}

function node(name: string, ready = true): Node {
  return { apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: `127.0.1.${name.slice(-1)}` },
    status: { ready, capacity: { cpu: 1000, memory: 1 }, allocatable: { cpu: 1000, memory: 1 } } };
}

function replica(name: string, ip: string, extra: { node?: string; ready?: boolean; phase?: 'Running' | 'Starting'; deleting?: boolean; of?: Service } = {}): Replica {
  const of = extra.of ?? service();
  return {
    apiVersion: 'tide/v1', kind: 'Replica',
    metadata: { name, namespace: 'default', ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { service: of.metadata.name, templateHash: 'h', template: replicaTemplate(of), nodeName: extra.node ?? 'node-1' },
    status: { phase: extra.phase ?? 'Running', ready: extra.ready ?? true, restartCount: 0, ip },
  };
}

describe('publishedPorts', () => {
  const nodes = [node('node-1'), node('node-2')];

  it('lists the ready replicas of every node behind each published port, with the protocol', () => {
    const ports = publishedPorts([service()], [replica('web-b', '100.64.1.3', { node: 'node-2' }), replica('web-a', '100.64.0.2')], nodes);
    assert.deepEqual(ports, [{
      namespace: 'default', service: 'web', publish: 18080, protocol: 'HTTP',
      endpoints: [
        { address: '100.64.0.2', port: 8080, replica: 'web-a', nodeName: 'node-1' },
        { address: '100.64.1.3', port: 8080, replica: 'web-b', nodeName: 'node-2' },
      ],
    }]);
  });

  it('leaves out replicas not ready, not running, being deleted, or on a node that is not Ready', () => {
    const ports = publishedPorts([service()], [
      replica('web-a', '100.64.0.2', { ready: false }),
      replica('web-b', '100.64.0.3', { phase: 'Starting' }),
      replica('web-c', '100.64.0.4', { deleting: true }),
      replica('web-d', '100.64.2.5', { node: 'node-3' }),
      replica('web-e', '100.64.2.6', { node: 'node-3' }),
    ], [...nodes, node('node-3', false)]);
    assert.deepEqual(ports[0].endpoints, [], 'the port stays published with no endpoint');
  });

  it('defaults the protocol to TCP and sends host-network replicas to their node\'s address', () => {
    const host = service('api', { network: 'host', ports: [{ containerPort: 9000, publish: 19000 }] });
    const [port] = publishedPorts([host], [replica('api-a', '', { of: host, node: 'node-2' })], nodes);
    assert.equal(port.protocol, 'TCP');
    assert.deepEqual(port.endpoints, [{ address: '127.0.1.2', port: 9000, replica: 'api-a', nodeName: 'node-2' }]);
  });

  it('takes the containerPort from each replica\'s own template (old and new during a rollout)', () => {
    const moved = service('web', { ports: [{ containerPort: 9090, publish: 18080 }] });
    const ports = publishedPorts([moved], [replica('web-old', '100.64.0.2'), replica('web-new', '100.64.0.3', { of: moved })], nodes);
    assert.deepEqual((ports[0].endpoints ?? []).map((e) => `${e.replica}:${e.port}`), ['web-new:9090', 'web-old:8080']);
  });

  it('publishes nothing for a service without publish ports, and no replica of another service', () => {
    const internal = service('db', { ports: [{ containerPort: 5432 }] });
    assert.deepEqual(publishedPorts([internal], [replica('web-a', '100.64.0.2')], nodes), []);
  });
});

describe('serviceAddresses', () => {
  const nodes = [node('node-1'), node('node-2')];
  const withIp = (s: Service, ip: string): Service => ({ ...s, status: { replicas: 0, readyReplicas: 0, runningReplicas: 0, pendingReplicas: 0, clusterIP: ip } });

  it('lists every service with its IP, each port (port defaulting to containerPort) with the ready replicas of every node', () => {
    const web = withIp(service('web', { ports: [{ name: 'http', containerPort: 8080, port: 80, protocol: 'HTTP' }, { containerPort: 9090 }] }), '100.96.0.1');
    const replicas = [
      replica('web-b', '100.64.1.3', { node: 'node-2', of: web }), replica('web-a', '100.64.0.2', { of: web }),
      replica('web-c', '100.64.0.3', { of: web, ready: false }),
    ];
    const endpoints = (port: number) => [
      { address: '100.64.0.2', port, replica: 'web-a', nodeName: 'node-1' }, { address: '100.64.1.3', port, replica: 'web-b', nodeName: 'node-2' },
    ];
    assert.deepEqual(serviceAddresses([web], replicas, nodes), [{
      namespace: 'default', service: 'web', ip: '100.96.0.1', ports: [
        { name: 'http', port: 80, protocol: 'HTTP', endpoints: endpoints(8080) },
        { port: 9090, protocol: 'TCP', endpoints: endpoints(9090) },
      ],
    }]);
  });

  it('leaves out services still without an IP, and keeps one without ports (its name still resolves)', () => {
    const worker = withIp(service('worker', { ports: [] }), '100.96.0.2');
    assert.deepEqual(serviceAddresses([service('web'), worker], [], nodes), [{ namespace: 'default', service: 'worker', ip: '100.96.0.2', ports: [] }]);
  });

  it('sends a port to the containerPort each replica\'s own template gives it (a rollout that moves the container port)', () => {
    const next = withIp(service('web', { ports: [{ containerPort: 9000, port: 80 }] }), '100.96.0.1');
    const old = service('web', { ports: [{ containerPort: 8080, port: 80 }] });
    const [address] = serviceAddresses([next], [replica('web-old', '100.64.0.2', { of: old }), replica('web-new', '100.64.0.3', { of: next })], nodes);
    assert.deepEqual(address.ports[0].endpoints.map((e) => `${e.replica}:${e.port}`), ['web-new:9000', 'web-old:8080']);
  });
});
