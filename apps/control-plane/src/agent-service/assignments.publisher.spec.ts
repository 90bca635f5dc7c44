/** The fan-out of desired sets to the agents' streams, over a cache whose changes the test makes. */
import { afterEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigData, Node, NodeAssignments, Replica, Service, configKeyOf, replicaTemplate, templateHash } from '@tide/api';
import { CacheChange, ConfigChange } from '@tide/store';
import { AssignmentsPublisher, AssignmentsSource } from './assignments.publisher';

/** The cache as the publisher reads it: nodes, replicas by node, and change notifications. */
class TestCache implements AssignmentsSource {
  revision = 1;
  private readonly nodes = new Map<string, Node>();
  private readonly replicas = new Map<string, Replica>();
  private readonly listeners = new Set<(change: CacheChange) => void>();

  onChange(listener: (change: CacheChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  replicasOn(node: string): Replica[] {
    return [...this.replicas.values()].filter((r) => r.spec.nodeName === node);
  }

  list<K extends 'Service' | 'Replica' | 'Node'>(kind: K): never[] {
    return (kind === 'Node' ? [...this.nodes.values()] : []) as never[];
  }

  putNode(name: string, podCIDR: string): void {
    const previous = this.nodes.get(name);
    const current: Node = { apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: `198.18.0.${name.slice(-1)}`, podCIDR } };
    this.nodes.set(name, current);
    this.emit({ kind: 'Node', previous, current });
  }

  putReplica(name: string, nodeName: string, image = 'busybox', spec: Partial<Service['spec']> = {}, paused?: true): void {
    const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, image, ...spec } };
    const template = replicaTemplate(service);
    const previous = this.replicas.get(name);
    const current: Replica = {
      apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'default' },
      spec: { service: 'web', templateHash: templateHash(template), template, nodeName, ...(paused ? { paused } : {}) }, status: { phase: 'Scheduled', ready: false, restartCount: 0 },
    };
    this.replicas.set(name, current);
    this.emit({ kind: 'Replica', previous, current });
  }

  private emit(change: CacheChange): void {
    this.revision++;
    for (const listener of this.listeners) listener(change);
  }
}

function recorder(node: string, nodesWhenChanged = false) {
  const received: NodeAssignments[] = [];
  return { received, stream: { node, nodesWhenChanged, write: (value: NodeAssignments) => received.push(value), end: () => undefined, on: () => undefined } };
}

async function eventually(what: string, check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5000; !check(); await new Promise((resolve) => setTimeout(resolve, 5))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('AssignmentsPublisher', () => {
  let publisher: AssignmentsPublisher | undefined;
  afterEach(() => publisher?.close());

  it('sends a new stream its node\'s set at once, with the other nodes\' slices', () => {
    const cache = new TestCache();
    cache.putNode('node-1', '100.64.1.0/24');
    cache.putNode('node-2', '100.64.2.0/24');
    cache.putReplica('web-b', 'node-1');
    cache.putReplica('web-a', 'node-1');
    cache.putReplica('web-c', 'node-2');
    publisher = new AssignmentsPublisher(cache);
    publisher.start();
    const one = recorder('node-1');
    publisher.watch(one.stream);
    assert.equal(one.received.length, 1);
    assert.deepEqual(one.received[0].replicas.map((r) => r.name), ['web-a', 'web-b']);
    assert.deepEqual(one.received[0].nodes, [{ nodeName: 'node-2', address: '198.18.0.2', podCIDR: '100.64.2.0/24' }]);
    assert.equal(one.received[0].revision, cache.revision);
  });

  it('sends a replica change to its node\'s streams only, once per burst, and nothing when the set is unchanged', async () => {
    const cache = new TestCache();
    cache.putNode('node-1', '100.64.1.0/24');
    cache.putNode('node-2', '100.64.2.0/24');
    publisher = new AssignmentsPublisher(cache);
    publisher.start();
    const one = recorder('node-1');
    const two = recorder('node-2');
    publisher.watch(one.stream);
    publisher.watch(two.stream);
    cache.putReplica('web-a', 'node-1');
    cache.putReplica('web-b', 'node-1');
    await eventually('the new set on node-1', () => one.received.length === 2);
    assert.deepEqual(one.received[1].replicas.map((r) => r.name), ['web-a', 'web-b'], 'both changes in one message');
    cache.putReplica('web-a', 'node-1'); // the same replica written again: same set
    cache.putReplica('web-c', 'node-2');
    await eventually('the new set on node-2', () => two.received.length === 2);
    assert.deepEqual(two.received[1].replicas.map((r) => r.name), ['web-c']);
    assert.equal(one.received.length, 2, 'node-1\'s set did not change');
    cache.putReplica('web-a', 'node-1', 'busybox', {}, true);
    await eventually('the pause on node-1', () => one.received.length === 3);
    assert.deepEqual(one.received[2].replicas.map((r) => [r.name, r.paused]), [['web-a', true], ['web-b', undefined]]);
  });

  it('sends every stream the new slices when a node joins', async () => {
    const cache = new TestCache();
    cache.putNode('node-1', '100.64.1.0/24');
    publisher = new AssignmentsPublisher(cache);
    publisher.start();
    const one = recorder('node-1');
    publisher.watch(one.stream);
    assert.deepEqual(one.received[0].nodes, []);
    cache.putNode('node-3', '100.64.3.0/24');
    await eventually('the new slice', () => one.received.length === 2);
    assert.deepEqual(one.received[1].nodes.map((n) => n.nodeName), ['node-3']);
  });

  it('leaves an unchanged node list out for an agent that keeps the last one, and sends it again when it changes', async () => {
    const cache = new TestCache();
    cache.putNode('node-1', '100.64.1.0/24');
    cache.putNode('node-2', '100.64.2.0/24');
    publisher = new AssignmentsPublisher(cache);
    publisher.start();
    const keeps = recorder('node-1', true);
    const old = recorder('node-1');
    publisher.watch(keeps.stream);
    publisher.watch(old.stream);
    assert.deepEqual(keeps.received[0].nodes.map((n) => n.nodeName), ['node-2'], 'a new stream gets the list');
    assert.equal(keeps.received[0].nodesUnchanged, undefined);
    cache.putReplica('web-a', 'node-1');
    await eventually('the new set', () => keeps.received.length === 2 && old.received.length === 2);
    assert.deepEqual([keeps.received[1].nodes, keeps.received[1].nodesUnchanged], [[], true]);
    assert.deepEqual(keeps.received[1].replicas.map((r) => r.name), ['web-a']);
    assert.deepEqual(old.received[1].nodes.map((n) => n.nodeName), ['node-2'], 'an agent that did not ask gets the list every time');
    assert.equal(old.received[1].nodesUnchanged, undefined);
    cache.putNode('node-3', '100.64.3.0/24');
    await eventually('the new list', () => keeps.received.length === 3);
    assert.deepEqual(keeps.received[2].nodes.map((n) => n.nodeName), ['node-2', 'node-3']);
    assert.equal(keeps.received[2].nodesUnchanged, undefined);
  });

  it('sends a node the ConfigMaps and Secrets its replicas name, no others, and again when one changes', async () => {
    const cache = new TestCache();
    cache.putNode('node-1', '100.64.1.0/24');
    cache.putNode('node-2', '100.64.2.0/24');
    const configs = new TestConfigs();
    configs.put(config('Secret', 'db', 's3cret', '5'));
    configs.put(config('ConfigMap', 'other', 'x', '6'));
    cache.putReplica('web-a', 'node-1', 'busybox', { env: { P: { valueFrom: { secretKeyRef: { name: 'db', key: 'value' } } } } });
    cache.putReplica('api-a', 'node-2');
    publisher = new AssignmentsPublisher(cache, undefined, configs);
    publisher.start();
    const one = recorder('node-1');
    const two = recorder('node-2');
    publisher.watch(one.stream);
    publisher.watch(two.stream);
    assert.deepEqual(one.received[0].configs?.map((c) => `${c.kind}/${c.name}@${c.version}`), ['Secret/db@5']);
    assert.equal(two.received[0].configs, undefined, 'node-2 runs no replica that names it');
    configs.put(config('Secret', 'db', 'n3w', '7'));
    await eventually('the new Secret on node-1', () => one.received.length === 2);
    assert.equal(one.received[1].configs![0].data.value.toString(), 'n3w');
    configs.put(config('ConfigMap', 'other', 'y', '8'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual([one.received.length, two.received.length], [2, 1], 'an object nobody names goes nowhere');
  });
});

function config(kind: ConfigData['kind'], name: string, value: string, version: string): ConfigData {
  return { kind, namespace: 'default', name, version, data: { value: Buffer.from(value) } };
}

class TestConfigs {
  private readonly objects = new Map<string, ConfigData>();
  private readonly listeners = new Set<(change: ConfigChange) => void>();

  get(key: string): ConfigData | undefined {
    return this.objects.get(key);
  }

  onChange(listener: (change: ConfigChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  put(data: ConfigData): void {
    const key = configKeyOf(data.kind, data.namespace, data.name);
    const previous = this.objects.get(key);
    this.objects.set(key, data);
    for (const listener of this.listeners) listener({ key, previous, current: data });
  }
}
