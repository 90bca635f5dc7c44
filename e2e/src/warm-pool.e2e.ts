/**
 * Issue 3, fast starts: a node agent keeps container inits booted (--warm-pool, default 2), replicas
 * started after the first one become those inits, and the agent's SIGTERM kills the waiting inits
 * but leaves the replicas running (they are adopted later).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, isAlive, running, waitFor, waitingInits } from './harness';

const service = (replicas: number) => `apiVersion: tide/v1
kind: Service
metadata:
  name: warm
spec:
  replicas: ${replicas}
  image: busybox
  command: ["sh", "-c", "echo started on $(hostname); sleep 3600"]
  resources:
    requests: { cpu: 10m, memory: 8Mi }
    limits: { cpu: 200m, memory: 32Mi }
  terminationGracePeriodSeconds: 1
`;

describe('warm pool of a node agent', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let agentPid: number;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: 18870, podCidr: '100.64.196.0/22' });
    const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as { nodes: { pid: number }[] };
    agentPid = record.nodes[0].pid;
  });

  after(async () => {
    await cluster?.stop();
  });

  it('starts later replicas in inits that were waiting', async () => {
    assert.equal((await cluster.apply(service(1))).code, 0);
    await waitFor('1 running replica', async () => (running(await cluster.replicas('warm')).length === 1 ? true : undefined), 60_000);
    // The first start of a network mode is cold; from then on the agent keeps two inits booted.
    const waiting = await waitFor('2 waiting inits', async () => {
      const pids = waitingInits(agentPid);
      return pids.length === 2 ? pids : undefined;
    }, 90_000);
    assert.equal((await cluster.apply(service(3))).code, 0);
    const replicas = await waitFor('3 running replicas', async () => {
      const list = running(await cluster.replicas('warm'));
      return list.length === 3 ? list : undefined;
    }, 60_000);
    const pids = replicas.map((r) => r.status?.pid);
    for (const pid of waiting) assert.ok(pids.includes(pid), `waiting init ${pid} became a replica (replica pids ${pids.join(', ')})`);
    for (const replica of replicas) {
      const logs = await waitFor(`the log of ${replica.metadata.name}`, async () => {
        const out = await cluster.tsctl(['logs', replica.metadata.name]);
        return out.stdout.includes('started on') ? out.stdout : undefined;
      });
      assert.match(logs, new RegExp(`started on ${replica.metadata.name}`));
    }
  });

  it('kills its waiting inits on SIGTERM, and only them', async () => {
    const waiting = await waitFor('the pool refilled', async () => {
      const pids = waitingInits(agentPid);
      return pids.length === 2 ? pids : undefined;
    }, 90_000);
    const replicaPids = running(await cluster.replicas('warm')).map((r) => r.status!.pid!);
    process.kill(agentPid, 'SIGTERM');
    await waitFor('the agent exited', async () => (isAlive(agentPid) ? undefined : true), 90_000);
    for (const pid of waiting) assert.equal(isAlive(pid), false, `waiting init ${pid} is gone`);
    for (const pid of replicaPids) assert.equal(isAlive(pid), true, `replica ${pid} keeps running`);
  });
});
