/**
 * With the default settings, a node whose agent dies (its host still up: the control plane's probe
 * of the agent's port is refused, so the agent-down grace applies, its containers running on under
 * the reaper) turns NotReady and its replicas are replaced on another node; when the agent returns it
 * stops the containers it should no longer run (its desired set, fenced by revision, no longer lists
 * them), and no report of theirs brings the lost replicas back in the API. A host that goes silent
 * (a power cut, a partition) is hosts.e2e's and the nodeloss bench's.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, isAlive, pidsMentioning, running, waitFor } from './harness';

describe('node loss', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: 17670, podCidr: '100.64.120.0/22' });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('reschedules the replicas of a lost node and cleans up when it returns', async () => {
    const yaml = 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: survivor }\nspec:\n  replicas: 4\n  image: busybox\n  command: ["sleep", "3600"]\n  terminationGracePeriodSeconds: 0\n';
    assert.equal((await cluster.apply(yaml)).code, 0);
    const placed = await waitFor('4 running replicas', async () => {
      const list = running(await cluster.replicas('survivor'));
      return list.length === 4 ? list : undefined;
    }, 60_000);
    const lostNode = placed[0].spec.nodeName!;
    const lostPids = placed.filter((r) => r.spec.nodeName === lostNode).map((r) => r.status!.pid!);
    const nodeDir = path.join(cluster.stateDir, 'nodes', lostNode);
    const [agentPid] = pidsMentioning('node-agent/dist/main.js').filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${nodeDir}\0`));
    const argv = fs.readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(agentPid, 'SIGKILL');

    await waitFor(`${lostNode} NotReady`, async () => (await cluster.nodeList()).find((n) => n.metadata.name === lostNode)?.status?.ready === false, 90_000);
    const replaced = await waitFor('4 running replicas, none on the lost node', async () => {
      const list = running(await cluster.replicas('survivor'));
      return list.length === 4 && list.every((r) => r.spec.nodeName !== lostNode) ? list : undefined;
    }, 120_000);
    assert.equal(replaced.length, 4);
    await waitFor('the lost replicas gone from the API', async () => (await cluster.replicas('survivor')).length === 4);

    const log = fs.openSync(path.join(cluster.stateDir, `${lostNode}-restarted.log`), 'a');
    spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] }).unref();
    await waitFor(`${lostNode} Ready again`, async () => (await cluster.nodeList()).find((n) => n.metadata.name === lostNode)?.status?.ready === true, 90_000);
    await waitFor('the stale containers stopped', async () => lostPids.every((pid) => !isAlive(pid)), 90_000);
    const lostNames = new Set(placed.filter((r) => r.spec.nodeName === lostNode).map((r) => r.metadata.name));
    const now = await cluster.replicas('survivor');
    assert.deepEqual(now.filter((r) => lostNames.has(r.metadata.name)).map((r) => r.metadata.name), [], 'the lost replicas stay gone');
    assert.deepEqual(running(now).map((r) => r.metadata.name).sort(), replaced.map((r) => r.metadata.name).sort(), 'the replacements run on, undisturbed');
  });
});
