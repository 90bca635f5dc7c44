/**
 * Issue 17: a published port keeps serving while its node's agent is killed (SIGKILL) and started
 * again. The port, and every connection through it, is the node's balancer process's
 * (apps/node-agent/src/balancer/), which the kill does not touch: it serves with its last config while
 * no agent runs, and the new agent connects to the same process and sends its config again. Nothing
 * in flight is lost, and the new agent's own replicas, not probed yet, do not empty the port.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentProcess } from './agent.process';
import { TestCluster, isAlive, pidsMentioning, running, waitFor } from './harness';
import { LoadGenerator, get } from './load.client';

const BASE = 22900;
const PUBLISHED = BASE + 20;
const POD_CIDR = '100.64.212.0/22';
const CONNECTIONS = 4;

const SERVER = `
const http = require('http');
const name = require('os').hostname();
http.createServer((req, res) => setTimeout(() => res.end(name), 5)).listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

const SERVICE = `apiVersion: tide/v1
kind: Service
metadata: { name: steady }
spec:
  replicas: 2
  image: node
  command: ${JSON.stringify(['node', '-e', SERVER])}
  resources: { requests: { cpu: 20m, memory: 32Mi } }
  terminationGracePeriodSeconds: 1
  ports:
    - { containerPort: 8080, publish: ${PUBLISHED}, protocol: HTTP }
  probes:
    readiness: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
`;

describe('published ports through an agent kill -9 and restart', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  });

  after(async () => {
    if (!cluster) return;
    // tsctl down itself ends the node's balancer (node-agent cleanup asks it; the reaper's exit would too),
    // before the harness's last resort kills whatever still names the state dir.
    const down = await cluster.tsctl(['down', '--state-dir', cluster.stateDir]);
    const balancers = () => pidsMentioning(`node-agent-balancer ${cluster.stateDir}`).filter(isAlive);
    const left = await waitFor('no balancer process after tsctl down', async () => balancers().length === 0 || undefined, 10_000).then(() => [], () => balancers());
    await cluster.stop();
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(left, [], 'tsctl down ended the node\'s balancer process');
  });

  it('keeps answering on the published port while no agent runs, and after', async () => {
    const applied = await cluster.apply(SERVICE);
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor('two replicas running', async () => running(await cluster.replicas('steady')).length === 2 || undefined, 180_000);
    const [node] = await cluster.nodeList();
    const target = `${node.spec.address}:${PUBLISHED}`;
    await waitFor('the published port answering', async () => (await get(node.spec.address, PUBLISHED)).status === 200 || undefined, 60_000);
    const agent = new AgentProcess(cluster, node.metadata.name);
    const nodeLog = path.join(cluster.stateDir, `${node.metadata.name}.log`);
    const balancerPids = () => pidsMentioning(`node-agent-balancer ${agent.stateDir}`);
    const [balancer] = balancerPids();
    assert.ok(balancer, 'the node runs a balancer process');
    const agentConnections = () => fs.readFileSync(nodeLog, 'utf8').match(/node-agent-balancer: the agent connected/g)?.length ?? 0;
    const connectedBefore = agentConnections();

    const load = new LoadGenerator({ targets: [target], connections: CONNECTIONS, maxSeconds: 240, maxRequests: 10_000_000 });
    load.start();
    await waitFor('load flowing', async () => load.progress().ok > 200 || undefined, 30_000);
    const killedAt = Date.now();
    await agent.kill();
    const atKill = load.progress();
    await waitFor('the balancer without its agent', async () => /no agent connected: serving 1 published port/.test(fs.readFileSync(nodeLog, 'utf8')) || undefined, 30_000);
    // While no agent runs, requests keep being answered, on the same connections.
    await waitFor('answers while the agent is down', async () => load.progress().ok > atKill.ok + 200 || undefined, 30_000);
    const whileDown = load.progress();
    assert.equal(agent.pids().length, 0, 'no agent ran while the answers above came');

    agent.start({ logName: 'agent-restarted.log' });
    await waitFor('the new agent connected to the balancer', async () => agentConnections() > connectedBefore || undefined, 120_000)
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${cluster.logs()}`);
      });
    const backAt = Date.now();
    const atBack = load.progress();
    await waitFor('answers after the agent is back', async () => load.progress().ok > atBack.ok + 200 || undefined, 30_000);
    // Once its replicas are probed and listed again, the new agent's config has them: new connections are answered.
    await waitFor('the agent\'s replicas ready again', async () => running(await cluster.replicas('steady')).filter((r) => r.status?.ready).length === 2 || undefined, 60_000);
    for (let i = 0; i < 20; i++) assert.equal((await get(node.spec.address, PUBLISHED)).status, 200);
    assert.deepEqual(balancerPids(), [balancer], 'the same balancer process throughout');
    const result = await load.stop();
    console.log(`published-restart: ${JSON.stringify({ ok: result.ok, failed: result.failed, failures: result.failures, outage_s: (backAt - killedAt) / 1000, answered_while_down: whileDown.ok - atKill.ok })}`);

    // The kill touched no connection of the balancer's: not one exchange failed.
    assert.equal(result.failed, 0, `failed: ${JSON.stringify(result.failures)}`);
  });
});
