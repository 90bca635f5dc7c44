import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { LocalVolumeStatus, Node, Replica, Service, replicaTemplate, templateHash } from '@tide/api';
import { localVolumeHolders, localVolumeViews, pendingBatch, pendingKeepingVolumes } from './local.volumes';

function replicaOf(name: string, volume: string | undefined, nodeName?: string): Replica {
  const spec: Service['spec'] = {
    replicas: 1, image: 'busybox',
    ...(volume ? { volumes: [{ name: 'data', localVolume: { name: volume } }], volumeMounts: [{ name: 'data', mountPath: '/data' }] } : {}),
  };
  const template = replicaTemplate({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec });
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'shop' },
    spec: { service: 'db', templateHash: templateHash(template), template, ...(nodeName ? { nodeName } : {}) },
  };
}

function nodeOf(name: string, localVolumes?: LocalVolumeStatus[]): Node {
  return {
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1', agentPort: 1 },
    status: { capacity: { cpu: 1, memory: 1 }, allocatable: { cpu: 1, memory: 1 }, ready: true, ...(localVolumes ? { localVolumes } : {}) },
  } as Node;
}

const pg = (sizeBytes: number): LocalVolumeStatus => ({ namespace: 'shop', name: 'pgdata', sizeBytes });

describe('named local volumes on the control plane', () => {
  it('a volume is held by the node reporting it, else by the node a replica using it is bound to', () => {
    assert.deepEqual([...localVolumeHolders([nodeOf('n2', [pg(1)])], [replicaOf('db-a', 'pgdata', 'n1')])], [['shop/pgdata', 'n2']], 'the report wins');
    assert.deepEqual([...localVolumeHolders([nodeOf('n1'), nodeOf('n2')], [replicaOf('db-a', 'pgdata', 'n1'), replicaOf('db-b', 'pgdata')])], [['shop/pgdata', 'n1']]);
    assert.deepEqual([...localVolumeHolders([nodeOf('n1')], [replicaOf('db-b', 'pgdata')])], [], 'a pending replica holds nothing');
  });

  it('binds a replica of a held volume to its node, and places one replica of a volume nobody holds per batch', () => {
    let asked = 0;
    const held = () => (asked++, new Map([['shop/pgdata', 'n2']]));
    assert.deepEqual(pendingBatch([replicaOf('db-a', 'pgdata')], held).map((p) => p.localVolumes), [[{ volume: 'shop/pgdata', node: 'n2' }]]);
    const none = () => (asked++, new Map<string, string>());
    const batch = pendingBatch([replicaOf('db-a', 'cache'), replicaOf('web-a', undefined), replicaOf('db-b', 'cache'), replicaOf('db-c', 'other')], none);
    assert.deepEqual(batch.map((p) => [p.name, p.localVolumes]), [['db-a', undefined], ['web-a', undefined], ['db-c', undefined]], 'db-b waits for db-a\'s node');
    asked = 0;
    pendingBatch([replicaOf('web-a', undefined)], none);
    assert.equal(asked, 0, 'no local volume: the holders are not computed');
  });

  it('a what-if moving a replica keeps its volumes on its node', () => {
    assert.deepEqual(pendingKeepingVolumes(replicaOf('db-a', 'pgdata', 'n1'), 'n1').localVolumes, [{ volume: 'shop/pgdata', node: 'n1' }]);
    assert.equal(pendingKeepingVolumes(replicaOf('web-a', undefined, 'n1'), 'n1').localVolumes, undefined);
  });

  it('lists the held volumes with the size their node reported and the replicas using them', () => {
    const views = localVolumeViews([nodeOf('n1', [pg(4096)])], [replicaOf('db-b', 'pgdata'), replicaOf('db-a', 'pgdata', 'n1'), replicaOf('x-a', 'scratch', 'n2')]);
    assert.deepEqual(views, [
      { namespace: 'shop', name: 'pgdata', node: 'n1', sizeBytes: 4096, users: ['db-a', 'db-b'] },
      { namespace: 'shop', name: 'scratch', node: 'n2', users: ['x-a'] }, // bound, not reported yet: no size
    ]);
  });
});
