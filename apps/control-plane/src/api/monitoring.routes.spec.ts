/** Monitoring routes and the control plane's /metrics on a real etcd: discovery, usage, events (list and watch), metric names. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { API_VERSION, NodeUsage, ReplicaUsage, Service, TideEvent } from '@tide/api';
import { EventRecorder } from '../controllers/events.recorder';
import { registerServiceReplicaGauges } from '../monitoring/cluster.metrics';
import { instrumentStore } from '../monitoring/store.instrumentation';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

describe('monitoring routes', { timeout: 300_000 }, () => {
  let api: ApiHarness;

  before(async () => {
    api = await startApiHarness();
    await api.addNode('node-1', 19701);
    await api.addNode('node-2', 19702, false);
    await api.store.mutate('Node', 'default', 'node-1', (n) => ({ ...n, metadata: { ...n.metadata, labels: { zone: 'a', 'tide.io/pool': 'web' } } }));
  });
  after(async () => {
    await api?.close();
  });

  const get = async <T>(path: string): Promise<T> => {
    const response = await api.fetch(path);
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  };

  it('lists every node\'s agent for Prometheus http_sd, with __meta labels', async () => {
    const groups = await get<{ targets: string[]; labels: Record<string, string> }[]>('/api/v1/discovery/prometheus');
    assert.deepEqual(groups.map((g) => g.targets), [['127.0.0.1:19701'], ['127.0.0.1:19702']]);
    assert.deepEqual(groups[0].labels, {
      __meta_tide_node_name: 'node-1', __meta_tide_node_address: '127.0.0.1', __meta_tide_node_ready: 'true', __meta_tide_node_cordoned: 'false',
      __meta_tide_node_label_zone: 'a', __meta_tide_node_label_tide_io_pool: 'web',
    });
    assert.equal(groups[1].labels.__meta_tide_node_ready, 'false', 'a NotReady node stays a target: Prometheus shows it down');
  });

  it('serves the agents\' usage per replica (one namespace or all) and per node', async () => {
    const sample = (atMs: number, cpu: number, namespace = 'default', name = 'web-1') => ({ namespace, name, cpuUsageSeconds: cpu, memoryWorkingSetBytes: 2048, memoryUsageBytes: 4096, startedAt: 's' });
    const now = Date.now();
    api.usage.record({ nodeName: 'node-1', timestampMs: now - 1000, replicas: [sample(now - 1000, 10), sample(now - 1000, 1, 'shop', 'db-1')], services: [] });
    api.usage.record({ nodeName: 'node-1', timestampMs: now, replicas: [sample(now, 10.25), sample(now, 1.5, 'shop', 'db-1')], services: [] });
    const replicas = await get<{ items: ReplicaUsage[] }>('/api/v1/usage/replicas');
    assert.deepEqual(replicas.items.map((r) => [r.namespace, r.name, r.node, r.cpuCores, r.memoryWorkingSetBytes]), [['default', 'web-1', 'node-1', 0.25, 2048]]);
    assert.equal((await get<{ items: ReplicaUsage[] }>('/api/v1/usage/replicas?namespace=all')).items.length, 2);
    const nodes = await get<{ items: NodeUsage[] }>('/api/v1/usage/nodes');
    assert.deepEqual(nodes.items.map((n) => [n.node, n.cpuCores, n.memoryWorkingSetBytes, n.replicas]), [['node-1', 0.75, 4096, 2]]);
  });

  it('lists events oldest first and streams new ones to a watcher', async () => {
    const events = new EventRecorder(api.store, 'test');
    await events.record({ kind: 'Node', namespace: 'default', name: 'node-1' }, 'Normal', 'NodeReady', 'first');
    await events.record({ kind: 'Replica', namespace: 'shop', name: 'db-1' }, 'Normal', 'Scheduled', 'elsewhere');
    const listed = await get<{ items: TideEvent[] }>('/api/v1/events');
    assert.deepEqual(listed.items.map((e) => e.spec.message), ['first']);

    const watch = new AbortController();
    const response = await api.fetch(`/api/v1/events?watch=1&namespace=all`, { signal: watch.signal });
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    const reader = response.body!.getReader();
    let text = '';
    const lines = async (count: number) => {
      while (text.split('\n').length - 1 < count) text += new TextDecoder().decode((await reader.read()).value);
      return text.trim().split('\n').map((line) => JSON.parse(line) as { type: string; object: TideEvent });
    };
    assert.deepEqual((await lines(2)).map((l) => l.object.spec.message), ['first', 'elsewhere'], 'the recorded ones first');
    await events.record({ kind: 'Replica', namespace: 'default', name: 'web-1' }, 'Warning', 'OOMKilled', 'new one');
    const third = (await lines(3))[2];
    assert.deepEqual([third.type, third.object.spec.reason, third.object.spec.message], ['ADDED', 'OOMKilled', 'new one']);
    watch.abort();
  });

  it('serves API durations per route pattern, etcd durations, and desired/current replicas per service', async () => {
    const store = instrumentStore(api.store, api.metrics.etcdDuration);
    registerServiceReplicaGauges(api.metrics, api.cache);
    const web = await store.create<Service>({ apiVersion: API_VERSION, kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, image: 'busybox' } } as Service);
    await store.createAll<Service>([{ ...web, metadata: { name: 'api', namespace: 'default' } }]);
    await store.updateAll([web]);
    await api.addReplica('web-1', { service: 'web', image: 'busybox', nodeName: 'node-1' });
    await api.addReplica('web-2', { service: 'web', image: 'busybox', deleting: true });
    assert.equal((await api.fetch(`/api/v1/services/nope`)).status, 404);
    await api.fetch(`/metrics`);
    const text = await (await api.fetch(`/metrics`)).text();
    assert.match(text, /tide_api_request_duration_seconds_count\{method="GET",route="\/api\/v1\/services\/:name",code="404"\} 1/);
    assert.match(text, /tide_etcd_request_duration_seconds_count\{operation="create",kind="Service"\} 1/);
    assert.match(text, /tide_etcd_request_duration_seconds_count\{operation="createAll",kind="Service"\} 1/, 'timed once, under its own name');
    assert.match(text, /tide_etcd_request_duration_seconds_count\{operation="updateAll",kind="Service"\} 1/);
    assert.doesNotMatch(text, /operation="list"/, 'a scrape lists nothing from etcd: the gauges read the cache');
    assert.match(text, /tide_service_desired_replicas\{namespace="default",service="web"\} 3/);
    assert.match(text, /tide_service_current_replicas\{namespace="default",service="web"\} 1/, 'a terminating replica does not count');
    assert.match(text, /tide_service_ready_replicas\{namespace="default",service="web"\} 0/);
    assert.match(text, /^tide_leader 0$/m);
  });
});
