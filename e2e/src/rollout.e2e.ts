/**
 * Issue 5 acceptance, rolling updates: a two-node cluster balancing a published HTTP port over a
 * 4-replica web service. Under continuous keep-alive load (GETs and POSTs on both nodes' ports),
 * a rolling update (an env var) finishes with zero failed requests; a rollout whose new replicas
 * never pass readiness stops with the reason while the old ones serve every request; `rollout undo`
 * brings the cluster back. All traffic stays on loopback and the nodes' bridges.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Replica, Service, TideEvent } from '@tide/api';
import { TestCluster, waitFor } from './harness';
import { LoadGenerator, LoadResult } from './load.client';

const BASE = 20070;
const POD_CIDR = '100.64.8.0/21';
const PUBLISHED = BASE + 20;
const REPLICAS = 4;
/**
 * The broken rollout's deadline: it waits this out. Its replicas start from an image every node
 * already holds, so a loaded machine starting them never looks stuck this long.
 */
const PROGRESS_DEADLINE_S = 30;
/**
 * Every other rollout's: the first one makes the `node` image on each node, which on a busy CI
 * machine can take longer than the broken rollout's deadline without being stuck.
 */
const GENEROUS_DEADLINE_S = 600;

/**
 * The replica answers "<hostname> v<VERSION>" after 100 ms of work; /healthz fails while BROKEN is
 * set. It exits at once on SIGTERM, so a request still in flight to it would fail: zero failures
 * means every replica left every balancer before it stopped, and no old one went before its
 * replacement was ready.
 */
const SERVER = `
const http = require('http'), os = require('os');
const answer = os.hostname() + ' v' + process.env.VERSION;
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(process.env.BROKEN ? 503 : 200).end();
  setTimeout(() => res.end(answer), 100);
}).listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

function webService(version: number, options: { broken?: boolean; progressDeadlineSeconds?: number } = {}): string {
  const env = { VERSION: String(version), ...(options.broken ? { BROKEN: '1' } : {}) };
  return `apiVersion: tide/v1
kind: Service
metadata: { name: web }
spec:
  replicas: ${REPLICAS}
  image: node
  command: ${JSON.stringify(['node', '-e', SERVER])}
  env: ${JSON.stringify(env)}
  resources: { requests: { cpu: 20m, memory: 32Mi } }
  terminationGracePeriodSeconds: 5
  update: { progressDeadlineSeconds: ${options.progressDeadlineSeconds ?? GENEROUS_DEADLINE_S} }
  ports:
    - { containerPort: 8080, publish: ${PUBLISHED}, protocol: HTTP }
  probes:
    readiness: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }
`;
}

describe('rolling updates under load', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let targets: string[];

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    targets = (await cluster.nodeList()).map((n) => `${n.spec.address}:${PUBLISHED}`);
    const applied = await cluster.apply(webService(1));
    assert.equal(applied.code, 0, applied.stderr);
    const status = await cluster.tsctl(['rollout', 'status', 'service', 'web', '--timeout', '300'], { timeoutMs: 320_000 });
    assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}`);
  });
  after(async () => {
    await cluster?.stop();
  });

  const live = async () => (await cluster.replicas('web')).filter((r) => !r.metadata.deletionTimestamp);
  const versionOf = (r: Replica) => r.spec.template.env.VERSION;
  /** Answers by version ("v2": n), from the load's answers by body. */
  const byVersion = (result: LoadResult) => {
    const counts: Record<string, number> = {};
    for (const [body, n] of Object.entries(result.byBody)) counts[body.split(' ')[1]] = (counts[body.split(' ')[1]] ?? 0) + n;
    return counts;
  };
  /** Runs `work` under load: the load flows before it, and carries on until every old replica is gone. */
  const underLoad = async <T>(work: () => Promise<T>): Promise<{ value: T; result: LoadResult }> => {
    const load = new LoadGenerator({ targets, connections: 32, maxSeconds: 600, maxRequests: 2_000_000, posts: true });
    load.start();
    try {
      await waitFor('the load flowing', async () => load.progress().ok >= 50);
      const value = await work();
      // The last replicas' terminations under load too: then answers from the new set alone.
      await waitFor('no web replica terminating', async () => (await cluster.replicas('web')).every((r) => !r.metadata.deletionTimestamp), 120_000);
      const answered = load.progress().ok;
      await waitFor('answers after the old replicas left', async () => load.progress().ok >= answered + 50);
      return { value, result: await load.stop() };
    } finally {
      await load.stop();
    }
  };

  it('rolls 4 replicas to a new env var under continuous load with zero failed requests', async (t) => {
    const { value: status, result } = await underLoad(async () => {
      const applied = await cluster.apply(webService(2));
      assert.equal(applied.code, 0, applied.stderr);
      return cluster.tsctl(['rollout', 'status', 'service', 'web', '--timeout', '400'], { timeoutMs: 420_000 });
    });
    t.diagnostic(`${result.ok} requests answered, ${result.failed} failed, by version: ${JSON.stringify(byVersion(result))}`);
    t.diagnostic(status.stdout.trim());
    assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}`);
    // A loaded machine may start tsctl after the rollout has already finished: then, as kubectl
    // does, it prints only the last line.
    assert.match(status.stdout, /^(Waiting for service "web" rollout to finish: .*\n)*service "web" successfully rolled out\n$/);
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures)}`);
    assert.ok(byVersion(result).v1 > 0 && byVersion(result).v2 > 0, `both versions served during the rollout: ${JSON.stringify(byVersion(result))}`);
    const replicas = await live();
    assert.deepEqual(replicas.map(versionOf), Array(REPLICAS).fill('2'));
    const service = (await cluster.services()).find((s) => s.metadata.name === 'web')!;
    assert.equal(service.status?.revision, 2);
  });

  it('stops a rollout whose replicas never get ready, with the reason, the old ones serving every request; then undoes it', async (t) => {
    const { value: status, result } = await underLoad(async () => {
      const applied = await cluster.apply(webService(3, { broken: true, progressDeadlineSeconds: PROGRESS_DEADLINE_S }));
      assert.equal(applied.code, 0, applied.stderr);
      return cluster.tsctl(['rollout', 'status', 'service', 'web'], { timeoutMs: 120_000 });
    });
    t.diagnostic(`${result.ok} requests answered, ${result.failed} failed, by version: ${JSON.stringify(byVersion(result))}`);
    assert.equal(status.code, 1, `${status.stdout}\n${status.stderr}`);
    assert.match(status.stderr, new RegExp(`^error: service "web" rollout \\(revision 3\\) exceeded its progress deadline: revision 3 made no progress for ${PROGRESS_DEADLINE_S}s .*: replica web-\\w+-\\w+ not ready: readiness probe failed: `));
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures)}`);
    assert.deepEqual(Object.keys(byVersion(result)), ['v2'], 'only the old replicas answered');
    const replicas = await live();
    assert.equal(replicas.filter((r) => versionOf(r) === '2' && r.status?.ready).length, REPLICAS, 'every old replica still serves');
    const events = await cluster.api<{ items: TideEvent[] }>('/api/v1/events?namespace=default&kind=Service&name=web');
    assert.ok(events.items.some((e) => e.spec.reason === 'ProgressDeadlineExceeded' && /not ready: readiness probe failed/.test(e.spec.message)));

    const { value: undone, result: undoLoad } = await underLoad(async () => {
      const undo = await cluster.tsctl(['rollout', 'undo', 'service', 'web']);
      assert.deepEqual([undo.code, undo.stdout], [0, 'service/web rolled back to revision 2\n'], undo.stderr);
      return cluster.tsctl(['rollout', 'status', 'service', 'web', '--timeout', '300'], { timeoutMs: 320_000 });
    });
    assert.equal(undone.code, 0, `${undone.stdout}\n${undone.stderr}`);
    assert.equal(undoLoad.failed, 0, `failed requests: ${JSON.stringify(undoLoad.failures)}`);
    await waitFor('the broken replica gone', async () => (await cluster.replicas('web')).every((r) => versionOf(r) === '2'), 60_000);
    const history = await cluster.tsctl(['rollout', 'history', 'service', 'web']);
    t.diagnostic(history.stdout);
    assert.match(history.stdout, /^service\/web\nREVISION\s+IMAGE\s+CHANGED\s+AGE\n1\s+node\s+<first kept>.*\n3\s+node\s+env .*\n4\s+node\s+env .*\n$/);
    const service: Service = await cluster.api('/api/v1/services/web?namespace=default');
    assert.deepEqual([service.status?.revision, service.spec.env], [4, { VERSION: '2' }]);
  });
});
