/** `tsctl top` and `tsctl get events --watch` as a user runs them, against a stand-in API. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { NodeUsage, ReplicaUsage, TideEvent } from '@tide/api';
import { NOW, ago, node, replica } from '../output/fixtures';
import { topNodesTable } from '../output/top.tables';
import { tsctl } from '../testing/run.tsctl';

const MI = 2 ** 20;
const limited = replica('web-a1', 'node-1', {}, { cpuMillis: 250, memoryBytes: 64 * MI });
limited.spec.template.limits = { cpuMillis: 500, memoryBytes: 128 * MI };
const shop = { ...replica('db-b2', 'node-2'), metadata: { name: 'db-b2', namespace: 'shop' } };

const usage: ReplicaUsage[] = [
  { namespace: 'default', name: 'web-a1', node: 'node-1', timestamp: ago(1), cpuCores: 0.1524, windowSeconds: 5, memoryWorkingSetBytes: 85 * MI, memoryUsageBytes: 90 * MI },
  { namespace: 'shop', name: 'db-b2', node: 'node-2', timestamp: ago(1), cpuCores: null, windowSeconds: 0, memoryWorkingSetBytes: 10 * MI, memoryUsageBytes: 12 * MI },
];
const nodeUsage: NodeUsage[] = [{ node: 'node-1', timestamp: ago(1), cpuCores: 0.45, memoryWorkingSetBytes: 96 * MI, replicas: 1 }];

function event(name: string, namespace: string, reason: string, message: string): TideEvent {
  return {
    apiVersion: 'tide/v1', kind: 'Event', metadata: { name, namespace },
    spec: { involvedObject: { kind: 'Replica', namespace, name: name.split('.')[0] }, type: 'Normal', reason, message, timestamp: new Date().toISOString(), source: 'test' },
  };
}

function standInApi(): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (value: unknown) => res.end(JSON.stringify(value));
    res.setHeader('content-type', 'application/json');
    if (url.pathname === '/api/v1/nodes') return json({ items: [node('node-1', true), node('node-2', true)] });
    if (url.pathname === '/api/v1/replicas') {
      const ns = url.searchParams.get('namespace');
      return json({ items: [limited, shop].filter((r) => ns === 'all' || r.metadata.namespace === (ns ?? 'default')) });
    }
    if (url.pathname === '/api/v1/usage/nodes') return json({ items: nodeUsage });
    if (url.pathname === '/api/v1/usage/replicas') {
      const ns = url.searchParams.get('namespace');
      return json({ items: usage.filter((u) => ns === 'all' || u.namespace === (ns ?? 'default')) });
    }
    if (url.pathname === '/api/v1/events' && url.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: event('web-a1.1', 'default', 'Scheduled', 'assigned to node node-1') })}\n`);
      // The second event arrives later, split across two chunks: the client must put the line back together.
      const line = JSON.stringify({ type: 'ADDED', object: event('db-b2.2', 'shop', 'Started', 'container started') });
      setTimeout(() => res.write(line.slice(0, 20)), 100);
      setTimeout(() => res.end(`${line.slice(20)}\n`), 200);
      return;
    }
    res.statusCode = 404;
    json({ error: 'not found' });
  });
}

describe('tsctl top and get events --watch', () => {
  const server = standInApi();
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('top nodes: usage against allocatable, requests as in get nodes, <unknown> without samples', async () => {
    const run = await tsctl(['--server', base, 'top', 'nodes']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
    assert.deepEqual(lines[0], ['NAME', 'CPU(cores)', 'CPU%', 'CPU-REQUESTS', 'MEMORY(bytes)', 'MEMORY%', 'MEMORY-REQUESTS']);
    // 450m of 900m allocatable = 50%; 96Mi of 896Mi = 11%; requested 250m and 64Mi
    assert.deepEqual(lines[1], ['node-1', '450m', '50%', '250m/900m', '96Mi', '11%', '64Mi/896Mi']);
    assert.deepEqual(lines[2], ['node-2', '<unknown>', '<unknown>', '100m/900m', '<unknown>', '<unknown>', '32Mi/896Mi']);
  });

  it('top replicas: usage against requests and limits, one namespace or all', async () => {
    const one = await tsctl(['--server', base, 'top', 'replicas']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(one.stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/)), [
      ['NAME', 'NODE', 'CPU(cores)', 'CPU-REQUEST', 'CPU-LIMIT', 'MEMORY(bytes)', 'MEMORY-REQUEST', 'MEMORY-LIMIT'],
      ['web-a1', 'node-1', '152m', '250m', '500m', '85Mi', '64Mi', '128Mi'],
    ]);
    const all = await tsctl(['--server', base, 'top', 'replicas', '-A']);
    assert.deepEqual(all.stdout.trimEnd().split('\n')[2].split(/\s{3,}/), ['shop', 'db-b2', 'node-2', '<unknown>', '100m', '-', '10Mi', '32Mi', '-']);
    const json = await tsctl(['--server', base, 'top', 'replicas', '-A', '-o', 'json']);
    assert.deepEqual((JSON.parse(json.stdout) as { items: ReplicaUsage[] }).items.map((u) => u.name), ['web-a1', 'db-b2']);
  });

  it('top says what it needs', async () => {
    const run = await tsctl(['--server', base, 'top', 'pods']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /top needs nodes or replicas, got "pods"/);
  });

  it('get events --watch prints each event as it arrives, with namespaces for -A', async () => {
    const run = await tsctl(['--server', base, 'get', 'events', '--watch', '-A']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
    assert.deepEqual(lines.map((l) => [l[0], l[3], l[4], l[5]]), [
      ['NAMESPACE', 'REASON', 'OBJECT', 'MESSAGE'],
      ['default', 'Scheduled', 'replica/web-a1', 'assigned to node node-1'],
      ['shop', 'Started', 'replica/db-b2', 'container started'],
    ]);
    const refused = await tsctl(['--server', base, 'get', 'replicas', '--watch']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--watch works with "get events" only/);
  });

  it('formats a node without allocatable without dividing by zero', () => {
    const bare = node('node-3', false);
    bare.status = undefined;
    assert.match(topNodesTable([bare], [], [{ node: 'node-3', timestamp: new Date(NOW).toISOString(), cpuCores: 0.1, memoryWorkingSetBytes: MI, replicas: 1 }]), /node-3\s+100m\s+-\s+0\/0\s+1Mi\s+-\s+0Mi\/0Mi/);
  });
});
