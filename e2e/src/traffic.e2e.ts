/**
 * Issue 5 acceptance, service traffic: a two-node cluster whose nodes each balance a published
 * HTTP port over the ready replicas of both nodes. Under continuous keep-alive load, a scale-in
 * from 4 replicas to 1 fails no request; a replica whose readiness probe fails gets no traffic;
 * one whose liveness probe fails is restarted. All traffic stays on loopback and the nodes' bridges.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Node, Replica, TideEvent } from '@tide/api';
import { TestCluster, running, waitFor } from './harness';
import { LoadGenerator, get } from './load.client';

const BASE = 19470;
const POD_CIDR = '100.64.80.0/22';
const PUBLISHED = BASE + 20;

/**
 * The replica: answers its hostname after 200 ms of "work"; /healthz fails while /tmp/unready exists,
 * /livez while /tmp/dead does. It exits at once on SIGTERM, as many servers do: requests still in
 * flight to it then fail, so a scale-in loses none only if the replica left every balancer first.
 */
const SERVER = `
const http = require('http'), fs = require('fs'), os = require('os');
const name = os.hostname();
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(fs.existsSync('/tmp/unready') ? 503 : 200).end();
  if (req.url === '/livez') return res.writeHead(fs.existsSync('/tmp/dead') ? 500 : 200).end();
  setTimeout(() => res.end(name), 200);
});
server.listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

function webService(replicas: number): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: web }
spec:
  replicas: ${replicas}
  image: node
  command: ${JSON.stringify(['node', '-e', SERVER])}
  resources: { requests: { cpu: 20m, memory: 32Mi } }
  terminationGracePeriodSeconds: 5
  ports:
    - { containerPort: 8080, publish: ${PUBLISHED}, protocol: HTTP }
  probes:
    readiness: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }
    liveness: { httpGet: { path: /livez, port: 8080 }, periodSeconds: 1, failureThreshold: 2 }
`;
}

describe('service traffic through every node\'s load balancer', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let nodes: Node[];
  let targets: string[];

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    nodes = await cluster.nodeList();
    targets = nodes.map((n) => `${n.spec.address}:${PUBLISHED}`);
  });
  after(async () => {
    await cluster?.stop();
  });

  async function readyReplicas(count: number): Promise<Replica[]> {
    return waitFor(`${count} ready web replicas`, async () => {
      const list = running(await cluster.replicas('web')).filter((r) => r.status?.ready && !r.metadata.deletionTimestamp);
      return list.length === count ? list : undefined;
    }, 180_000, 250);
  }

  /** Names answering through every node's balancer, over `requests` new connections per node. */
  async function answerers(requests: number): Promise<Set<string>> {
    const names = new Set<string>();
    for (const target of targets) {
      const [host, port] = target.split(':');
      for (let i = 0; i < requests; i++) {
        const answer = await get(host, Number(port));
        assert.equal(answer.status, 200, `${target}: ${answer.error ?? answer.body}`);
        names.add(answer.body);
      }
    }
    return names;
  }

  it('balances every node\'s published port over the ready replicas of both nodes', async () => {
    const applied = await cluster.apply(webService(4));
    assert.equal(applied.code, 0, applied.stderr);
    const replicas = await readyReplicas(4);
    assert.equal(new Set(replicas.map((r) => r.spec.nodeName)).size, 2, 'replicas on both nodes');
    const names = await waitFor('answers from all 4 replicas through both nodes', async () => {
      const seen = await answerers(20);
      return seen.size === 4 ? seen : undefined;
    });
    assert.deepEqual([...names].sort(), replicas.map((r) => r.metadata.name).sort());
  });

  it('scales in from 4 to 1 under continuous load (GETs and POSTs) without a failed request', async (t) => {
    const load = new LoadGenerator({ targets, connections: 32, maxSeconds: 600, maxRequests: 5_000_000, posts: true });
    load.start();
    await waitFor('answers from all 4 replicas under the load', async () => Object.keys(load.progress().byBody).length === 4);
    const scaled = await cluster.tsctl(['scale', 'service', 'web', '--replicas', '1']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const [survivor] = await waitFor('one web replica left', async () => {
      const list = await cluster.replicas('web');
      return list.length === 1 ? list : undefined;
    }, 120_000);
    // The load carries on after the last removed replica is gone.
    const answered = load.progress().ok;
    await waitFor('answers after the scale-in', async () => load.progress().ok >= answered + 50);
    const result = await load.stop();
    t.diagnostic(`${result.ok} requests answered, ${result.failed} failed, by replica: ${JSON.stringify(result.byBody)}`);
    // What the cluster saw meanwhile (a node NotReady, a readiness probe failing): why requests failed.
    if (result.failed > 0) t.diagnostic((await cluster.tsctl(['get', 'events', '-A'])).stdout);
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures)}`);
    assert.deepEqual([...await answerers(10)], [survivor.metadata.name], 'only the survivor answers afterwards');
  });

  it('sends no traffic to a replica whose readiness probe fails, and traffic again once it passes', async () => {
    const scaled = await cluster.tsctl(['scale', 'service', 'web', '--replicas', '2']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const [sick, healthy] = await readyReplicas(2);
    await waitFor('both replicas answering', async () => (await answerers(10)).size === 2);
    const touched = await cluster.tsctl(['exec', sick.metadata.name, '--', 'touch', '/tmp/unready']);
    assert.equal(touched.code, 0, touched.stderr);
    await waitFor(`${sick.metadata.name} not ready`, async () => {
      const replica = (await cluster.replicas('web')).find((r) => r.metadata.name === sick.metadata.name);
      return replica?.status?.ready === false && replica.status.phase === 'Running';
    }, 60_000, 100);
    // The endpoint change reaches every node's balancer (how fast is a benchmark's matter): then 50 more answers.
    await waitFor(`only ${healthy.metadata.name} answering on both nodes`, async () => {
      const names = await answerers(10);
      return names.size === 1 && names.has(healthy.metadata.name);
    });
    assert.deepEqual([...await answerers(50)], [healthy.metadata.name], `no answer from ${sick.metadata.name} on either node`);
    const listed = await cluster.tsctl(['get', 'replicas']);
    assert.match(listed.stdout, new RegExp(`${sick.metadata.name}\\s.*Running\\s+0/1`), listed.stdout);
    await cluster.tsctl(['exec', sick.metadata.name, '--', 'rm', '/tmp/unready']);
    await waitFor(`${sick.metadata.name} answering again`, async () => (await answerers(10)).has(sick.metadata.name));
  });

  it('restarts a replica whose liveness probe fails, with reason Unhealthy and an event', async () => {
    const [victim] = await readyReplicas(2);
    const touched = await cluster.tsctl(['exec', victim.metadata.name, '--', 'touch', '/tmp/dead']);
    assert.equal(touched.code, 0, touched.stderr);
    const restarted = await waitFor(`${victim.metadata.name} restarted`, async () => {
      const replica = (await cluster.replicas('web')).find((r) => r.metadata.name === victim.metadata.name);
      return (replica?.status?.restartCount ?? 0) >= 1 ? replica : undefined;
    }, 90_000, 200);
    assert.equal(restarted!.status?.lastExit?.reason, 'Unhealthy');
    const events = await cluster.api<{ items: TideEvent[] }>(`/api/v1/events?namespace=default&kind=Replica&name=${victim.metadata.name}`);
    assert.ok(events.items.some((e) => e.spec.reason === 'Unhealthy'), JSON.stringify(events.items.map((e) => e.spec)));
    // The new container starts without /tmp/dead: it passes its probes and serves again.
    await waitFor(`${victim.metadata.name} ready again`, async () => (await answerers(10)).has(victim.metadata.name), 90_000);
  });
});
