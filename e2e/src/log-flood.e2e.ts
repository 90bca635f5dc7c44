/**
 * Issue 17, disk: a container that writes to stdout as fast as it can (the chaos scenario log-flood,
 * e2e/src/bench/chaos/log-flood.scenario.ts) stays within its log bound, its agent keeps answering,
 * and a published service on the same node keeps serving without a failed request.
 * @suite-alone: the flood takes the machine's disk and a core; a file running beside it would measure that.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { flood } from './bench/chaos/log-flood.scenario';
import { TestCluster, running, waitFor } from './harness';
import { LoadGenerator, get } from './load.client';

const BASE = 23100;
const PUBLISHED = BASE + 20;
const POD_CIDR = '100.64.220.0/22';

const WEB = `apiVersion: tide/v1
kind: Service
metadata: { name: chx-web }
spec:
  replicas: 2
  image: busybox
  command: ["sh", "-c", "mkdir /www; hostname > /www/index.html; exec httpd -f -p 8080 -h /www"]
  resources: { requests: { cpu: 20m, memory: 16Mi } }
  ports: [{ containerPort: 8080, publish: ${PUBLISHED}, protocol: HTTP }]
  probes: { readiness: { httpGet: { path: /, port: 8080 }, periodSeconds: 1 } }
`;

describe('a container flooding its log', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('stays within the log bound while the node keeps serving', async () => {
    assert.equal((await cluster.apply(WEB)).code, 0);
    await waitFor('the web replicas running', async () => running(await cluster.replicas('chx-web')).length === 2 || undefined, 180_000);
    const [node] = await cluster.nodeList();
    await waitFor('the published port answering', async () => (await get(node.spec.address, PUBLISHED)).status === 200 || undefined, 60_000);
    const load = new LoadGenerator({ targets: [`${node.spec.address}:${PUBLISHED}`], connections: 2, maxSeconds: 300, maxRequests: 10_000_000 });
    load.start();
    const figures = await flood(cluster, (line) => console.log(line));
    const result = await load.stop();
    console.log(`log-flood: ${JSON.stringify({ ...figures, requests: result.ok + result.failed, failed: result.failed })}`);
    assert.ok(figures.written_bytes > figures.log_bound_bytes, `the flood wrote past the bound (${figures.written_bytes} bytes), or it proves nothing`);
    // The bound plus half a second of the flood (the agent checks every 500 ms): 30 s wrote written_bytes.
    const slack = figures.written_bytes / 60;
    assert.ok(figures.max_log_bytes <= figures.log_bound_bytes + slack, `log files ${figures.max_log_bytes} bytes > ${figures.log_bound_bytes} + ${Math.round(slack)}`);
    assert.equal(figures.agent_healthz_failures, 0);
    assert.equal(result.failed, 0, JSON.stringify(result.failures));
    assert.ok(result.ok > 0);
  });
});
