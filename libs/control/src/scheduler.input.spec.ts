import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, ReplicaPhase, Service } from '@tide/api';
import { newReplica } from './replica.factory';
import { nodeInfo, nodeInfos, toPending } from './scheduler.input';

function service(name: string, extra: Partial<Service['spec']> = {}): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { replicas: 1, image: 'busybox', resources: { requests: { cpu: '250m', memory: '64Mi' } }, ...extra } };
}

function node(name: string, extra: { images?: string[]; cordoned?: boolean; draining?: boolean } = {}): Node {
  return { apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default', labels: { zone: 'a' } },
    spec: { address: '127.0.1.1', ...(extra.cordoned ? { cordoned: true } : {}), ...(extra.draining ? { drain: { reason: 'Consolidation' as const, startedAt: '' } } : {}) },
    status: { ready: true, capacity: { cpu: 2000, memory: 2 ** 31 }, allocatable: { cpu: 1900, memory: 2 ** 31 - 2 ** 27 }, images: extra.images } };
}

function on(s: Service, nodeName: string | undefined, phase: ReplicaPhase = 'Running'): Replica {
  const r = newReplica(s);
  if (nodeName) r.spec.nodeName = nodeName;
  r.status = { phase, ready: phase === 'Running', restartCount: 0 };
  return r;
}

describe('nodeInfo', () => {
  it('sums what the replicas bound to the node hold: finished ones and other nodes\' are left out', () => {
    const web = service('web');
    const api = service('api', { resources: { requests: { cpu: '1', memory: '128Mi' } } });
    const replicas = [on(web, 'n1'), on(web, 'n1', 'Starting'), on(api, 'n1'), on(web, 'n1', 'Succeeded'), on(web, 'n1', 'Failed'), on(web, 'n2')];
    const info = nodeInfo(node('n1'), replicas, new Set());
    // cpu: 250m + 250m + 1000m = 1500m; memory: 64Mi + 64Mi + 128Mi = 256Mi
    assert.deepEqual(info.requested, { cpu: 1500, memory: 256 * 2 ** 20 });
    assert.deepEqual(info.replicasOfService, { 'default/web': 2, 'default/api': 1 });
    assert.deepEqual(info.allocatable, { cpu: 1900, memory: 2 ** 31 - 2 ** 27 });
    assert.deepEqual(info.labels, { zone: 'a' });
  });

  it('a node being emptied takes no new replicas, as a cordoned one', () => {
    assert.equal(nodeInfo(node('n1'), [], new Set()).cordoned, false);
    assert.equal(nodeInfo(node('n1', { cordoned: true }), [], new Set()).cordoned, true);
    assert.equal(nodeInfo(node('n1', { draining: true }), [], new Set()).cordoned, true);
  });

  it('keeps only the reported images some Service runs', () => {
    const info = nodeInfo(node('n1', { images: ['busybox:latest', 'node:20', 'old:1'] }), [], new Set(['busybox:latest', 'node:20']));
    assert.deepEqual([...info.images!].sort(), ['busybox:latest', 'node:20']);
  });

  it('collects host ports of host-network replicas', () => {
    const host = service('host', { network: 'host', ports: [{ name: 'http', containerPort: 8080 }] });
    assert.deepEqual([...nodeInfo(node('n1'), [on(host, 'n1')], new Set()).hostPorts!], [8080]);
  });
});

describe('nodeInfos', () => {
  it('one view per node, images wanted = those the replicas run', () => {
    const web = service('web');
    const infos = nodeInfos([node('n1', { images: ['busybox:latest', 'other:1'] }), node('n2')], [on(web, 'n1'), on(web, undefined, 'Pending')]);
    assert.deepEqual(infos.map((i) => [i.name, i.requested.cpu, [...i.images!]]), [['n1', 250, ['busybox:latest']], ['n2', 0, []]]);
  });
});

describe('toPending', () => {
  it('carries the requests, the normalised image and the placement of the template', () => {
    const s = service('web', { image: 'busybox', placement: { nodeSelector: { zone: 'a' }, maxSkew: 2 } });
    const r = on(s, undefined, 'Pending');
    assert.deepEqual(toPending(r), {
      namespace: 'default', name: r.metadata.name, service: 'web', cpu: 250, memory: 64 * 2 ** 20,
      image: 'busybox:latest', hostPorts: [], nodeSelector: { zone: 'a' }, maxSkew: 2,
    });
  });

  it('leaves placement out when the template has none', () => {
    const pending = toPending(on(service('web'), undefined, 'Pending'));
    assert.equal('nodeSelector' in pending, false);
    assert.equal('maxSkew' in pending, false);
  });
});
