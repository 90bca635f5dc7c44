/**
 * An agent killed (SIGKILL) in the middle of a start: the container's directory, cgroup, address and
 * veth exist, its state file does not (a test hook, TIDE_TEST_START_PAUSE_MS, holds the start in that
 * window). The restarted agent sweeps them before it adopts anything, and the replica ends Running
 * once: one container directory, one address, one veth, one cgroup, restart count 0. Then once
 * more with a replica deleted while its agent is down: the sweep alone frees its leftovers.
 * Ports 22400-22429 (API; gRPC +1, etcd +2/+3, registry +4, the agent +11).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentProcess } from './agent.process';
import { TestCluster, cgroupsMentioning, running, waitFor } from './harness';

const BASE = 22400;
const POD_CIDR = '100.64.68.0/22';
const SERVICE = 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: crashy }\nspec:\n  replicas: 1\n  image: busybox\n  command: ["sleep", "3600"]\n  terminationGracePeriodSeconds: 0\n';
const ID = 'default.crashy-';
const DELETED = 'default.deleted-';

describe('an agent killed in the middle of a start', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let nodeDir = '';

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
    nodeDir = path.join(cluster.stateDir, 'nodes', 'node-1');
  });
  after(async () => cluster?.stop());

  it('leaves nothing behind once restarted, and the replica runs once', async () => {
    try {
      await scenario();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${cluster.logs()}`, { cause: error });
    }
  });

  async function scenario(): Promise<void> {
    const agent = new AgentProcess(cluster, 'node-1');
    await agent.kill();
    agent.start({ env: { TIDE_TEST_START_PAUSE_MS: '600000' }, logName: 'agent-paused.log' });
    assert.equal((await cluster.apply(SERVICE)).code, 0);

    // The start is held after its cgroup, address and veth were made, before its state file.
    const id = await waitFor('a start half done', async () => {
      const dir = containerDirs()[0];
      if (!dir || fs.existsSync(path.join(nodeDir, 'containers', dir, 'state.json'))) return undefined;
      return addressHolders().includes(dir) && cgroupsMentioning(dir).length > 0 && bridgeVeths().length > 0 ? dir : undefined;
    }, 120_000);
    assert.ok(id.startsWith(ID), id);
    await agent.kill();
    agent.start({ logName: 'agent-restarted.log' });
    await waitForSweep(id, 'the sweep logged');
    const [replica] = await waitFor('the replica running', async () => {
      const replicas = running(await cluster.replicas('crashy'));
      return replicas.length === 1 ? replicas : undefined;
    }, 120_000);
    assert.equal(replica.status?.restartCount ?? 0, 0, 'started once, not restarted');
    assert.deepEqual(containerDirs(), [id], 'one container directory');
    assert.ok(fs.existsSync(path.join(nodeDir, 'containers', id, 'state.json')));
    assert.deepEqual(addressHolders(), [id], 'one address, held by the running container');
    assert.equal(bridgeVeths().length, 1, 'one veth on the node\'s bridge');
    const groups = cgroupsMentioning(id);
    assert.ok(groups.length > 0);
    for (const group of groups) {
      const procs = fs.readFileSync(path.join(group, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      assert.ok(procs.includes(replica.status!.pid!), `${group} holds the running container`);
    }
    assert.deepEqual(cgroupsMentioning(ID).filter((group) => !group.includes(id)), [], 'no other group of the service');

    // Again, but the replica is deleted while its agent is down: it never starts again on this node,
    // so only the sweep can free what its cut start left. The running replica is adopted meanwhile.
    await agent.kill();
    agent.start({ env: { TIDE_TEST_START_PAUSE_MS: '600000' }, logName: 'agent-paused-again.log' });
    assert.equal((await cluster.apply(SERVICE.replace('name: crashy', 'name: deleted'))).code, 0);
    const deletedId = await waitFor('a second start half done', async () => {
      const dir = containerDirs(DELETED)[0];
      if (!dir || fs.existsSync(path.join(nodeDir, 'containers', dir, 'state.json'))) return undefined;
      return addressHolders().includes(dir) && cgroupsMentioning(dir).length > 0 ? dir : undefined;
    }, 120_000);
    await agent.kill();
    assert.equal((await cluster.tsctl(['delete', 'service', 'deleted'])).code, 0);
    agent.start({ logName: 'agent-restarted-again.log' });
    await waitForSweep(deletedId, 'the second sweep logged');
    assert.deepEqual(containerDirs(DELETED), [], 'no directory of the deleted replica');
    assert.deepEqual(addressHolders(), [id], 'only the running container holds an address');
    assert.deepEqual(cgroupsMentioning(deletedId), [], 'no cgroup of the deleted replica');
    assert.equal(bridgeVeths().length, 1, 'one veth on the bridge');
    const adopted = await waitFor('the first replica still running, adopted', async () => {
      const replicas = running(await cluster.replicas('crashy'));
      return replicas.length === 1 ? replicas[0] : undefined;
    }, 120_000);
    assert.equal(adopted.status?.pid, replica.status?.pid, 'the same container, adopted twice');
  }

  /** Until the restarted agent logs that it swept the container; a sweep that failed fails at once. */
  async function waitForSweep(id: string, what: string): Promise<void> {
    const escaped = id.replace('.', '\\.');
    const outcome = await waitFor(what, async () => {
      const failed = cluster.logLines(new RegExp(`container ${escaped}: not removed`))[0];
      return failed ?? (cluster.logLines(new RegExp(`swept what an earlier agent left half done: container ${escaped} `)).length > 0 ? 'swept' : undefined);
    }, 120_000);
    assert.equal(outcome, 'swept', `the sweep failed: ${outcome}`);
  }

  function containerDirs(prefix = ID): string[] {
    const dir = path.join(nodeDir, 'containers');
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.startsWith(prefix)) : [];
  }

  function addressHolders(): string[] {
    const dir = path.join(nodeDir, 'network', 'addresses');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name)).map((name) => fs.readFileSync(path.join(dir, name), 'utf8').trim());
  }

  /** The veths on the node's bridge (named in the agent's log when it made it). */
  function bridgeVeths(): string[] {
    const bridge = /bridge (tide[0-9a-f]+) at/.exec(cluster.logLines(/node-agent node-1: bridge tide/)[0] ?? '')?.[1];
    if (!bridge) return [];
    const links = spawnSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' }).stdout;
    return links.split('\n').filter(Boolean);
  }
});
