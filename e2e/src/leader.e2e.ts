/**
 * Two control planes share one etcd: exactly one is the leader and runs the scheduler; when it
 * stops, the other takes over, and an agent given both control planes fails over to it. Usage is
 * shared: the instance the agent does not talk to shows its replicas too (forwarded by the other).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, TestCluster, pidsMentioning, waitFor } from './harness';

const BASE = 17470;
const POD_CIDR = '100.64.84.0/22';

describe('two control planes', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  const secondServer = `https://127.0.0.1:${BASE + 50}`;
  const health = async (port: number): Promise<{ leader: boolean } | undefined> => {
    const response = await cluster.fetch('/healthz', {}, `https://127.0.0.1:${port}`).catch(() => undefined);
    return response?.ok ? ((await response.json()) as { leader: boolean }) : undefined;
  };

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
    const log = fs.openSync(path.join(cluster.stateDir, 'second-control-plane.log'), 'a');
    spawn(process.execPath, [
      path.join(REPO, 'apps/control-plane/dist/main.js'), '--etcd', `https://127.0.0.1:${BASE + 2}`,
      '--listen', `127.0.0.1:${BASE + 50}`, '--grpc-listen', `127.0.0.1:${BASE + 51}`,
      '--state-dir', path.join(cluster.stateDir, 'second'), '--id', 'second',
      // The cluster's pod network, as the first one has it: a node that registers again here keeps its
      // slice (and the replicas it runs their addresses).
      '--pod-cidr', POD_CIDR, '--node-cidr-mask-size', '24',
      // The cluster's certificates and audit log: one CA, one token store, for both control planes; etcd's
      // client certificate (PKI/etcd) is the second one's way into the first one's etcd.
      '--pki-dir', path.join(cluster.stateDir, 'pki'), '--audit-log', path.join(cluster.stateDir, 'audit.log'),
    ], { detached: true, stdio: ['ignore', log, log] }).unref();
    await waitFor('the second control plane', async () => health(BASE + 50), 90_000);
    // The agent is told both control planes, so that it fails over when the one it talks to stops.
    const [agentPid] = pidsMentioning('node-agent/dist/main.js').filter((pid) =>
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cluster.stateDir));
    const argv = fs.readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const flag = argv.indexOf('--control-plane');
    argv[flag + 1] = `127.0.0.1:${BASE + 1},127.0.0.1:${BASE + 51}`;
    process.kill(agentPid, 'SIGKILL');
    const agentLog = fs.openSync(path.join(cluster.stateDir, 'agent-two-control-planes.log'), 'a');
    spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', agentLog, agentLog] }).unref();
  });

  after(async () => {
    await cluster?.stop();
  });

  it('has exactly one leader, and the other takes over when it stops', async () => {
    const first = await health(BASE);
    const second = await health(BASE + 50);
    assert.equal(first?.leader, true, 'the first one started first and leads');
    assert.equal(second?.leader, false, 'the second one waits');
    const metrics = await (await cluster.fetch('/metrics', {}, secondServer)).text();
    assert.match(metrics, /^tide_leader 0$/m, 'the follower says it does not lead');
    assert.doesNotMatch(metrics, /^tide_scheduler_attempts_total\{result="scheduled"\}/m);
    assert.match(metrics, /^tide_usage_forward_peers 1$/m, 'the follower found the leader in the control planes\' directory');

    // The agent talks to the first control plane (the first of its addresses): the second one shows
    // the node's replica and usage all the same, forwarded by the first.
    const before = 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: before-failover }\nspec:\n  replicas: 1\n  image: busybox\n  command: ["sleep", "3600"]\n  terminationGracePeriodSeconds: 0\n';
    const early = await cluster.tsctl(['apply', '-f', '-'], { input: before });
    assert.equal(early.code, 0, early.stderr);
    type Usage = { items: { name: string; node: string }[] };
    const seen = await waitFor('the second control plane\'s usage showing the replica the agent reports to the first', async () => {
      const usage = (await (await cluster.fetch('/api/v1/usage/replicas?namespace=all', {}, secondServer)).json()) as Usage;
      return usage.items.find((r) => r.name.startsWith('before-failover-'));
    }, 90_000);
    const nodes = (await (await cluster.fetch('/api/v1/usage/nodes', {}, secondServer)).json()) as { items: { node: string; replicas: number }[] };
    assert.deepEqual(nodes.items.map((n) => n.node), [seen.node], '`tsctl top nodes` through the second one sees the node');
    const shared = await (await cluster.fetch('/metrics', {}, secondServer)).text();
    assert.match(shared, /^tide_usage_reports_total\{source="peer"\} [1-9]/m, 'the second one recorded reports the first forwarded');
    assert.doesNotMatch(shared, /^tide_usage_reports_total\{source="agent"\} [1-9]/m, 'and none from the agent itself');

    // Stop the leader (it started etcd, so keep etcd: kill only the Node process, not its etcd child).
    const [leaderPid] = pidsMentioning('control-plane/dist/main.js').filter((pid) =>
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`127.0.0.1:${BASE}\0`));
    assert.ok(leaderPid);
    process.kill(leaderPid, 'SIGKILL');
    await waitFor('the second control plane to lead', async () => (await health(BASE + 50))?.leader === true, 90_000);

    // The new leader runs the controllers, and the agent, having failed over, keeps its node Ready:
    // a new service gets its replica created, scheduled and running.
    const yaml = 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: after-failover }\nspec:\n  replicas: 1\n  image: busybox\n  command: ["sleep", "3600"]\n  terminationGracePeriodSeconds: 0\n';
    const applied = await cluster.tsctl(['--server', secondServer, 'apply', '-f', '-'], { input: yaml });
    assert.equal(applied.code, 0, applied.stderr);
    type Listed = { items: { spec: { nodeName?: string }; status?: { phase?: string } }[] };
    const response = await waitFor('the replica running after failover', async () => {
      const list = (await (await cluster.fetch('/api/v1/replicas?namespace=all&service=after-failover', {}, secondServer)).json()) as Listed;
      return list.items.some((r) => r.status?.phase === 'Running') ? list : undefined;
    }, 90_000);
    await waitFor('the node Ready through the failover (it stays, or comes back once its agent reconnects)', async () => {
      const nodes = (await (await cluster.fetch('/api/v1/nodes', {}, secondServer)).json()) as { items: { status?: { ready?: boolean } }[] };
      return nodes.items.length > 0 && nodes.items.every((n) => n.status?.ready);
    });
    assert.equal(response.items.length, 1);
  });
});
