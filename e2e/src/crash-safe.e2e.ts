/**
 * Issue 17 (crash-safe agent): a container that exits while its agent is dead keeps its exit code.
 * The agent runs under the node's reaper (apps/node-agent/src/reaper): killed, it leaves its
 * containers to the reaper, which reaps them and writes their exit records; the restarted agent
 * reports them.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { TestCluster, isAlive, pidsMentioning, running, waitFor } from './harness';

const BASE_PORT = 21170;

// Exits with code 7 on SIGUSR1: the test decides when, here while no agent runs.
const SERVICE = `apiVersion: tide/v1
kind: Service
metadata: { name: seven }
spec:
  replicas: 1
  image: busybox
  command: ["sh", "-c", "trap 'exit 7' USR1; echo armed; while true; do sleep 0.2; done"]
  restartPolicy: Never
  resources: { requests: { cpu: 10m, memory: 8Mi } }
  terminationGracePeriodSeconds: 0
`;

describe('a crash-safe agent', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE_PORT, podCidr: '100.64.48.0/22' });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('reports the exit code of a container that exited while its agent was dead', async () => {
    const applied = await cluster.apply(SERVICE);
    assert.equal(applied.code, 0, applied.stderr);
    const [replica] = await waitFor('the replica running', async () => {
      const up = running(await cluster.replicas('seven'));
      return up.length === 1 ? up : undefined;
    }, 120_000);
    const containerPid = replica.status!.pid!;
    const [agentPid] = pidsMentioning('node-agent/dist/main.js').filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cluster.stateDir));
    assert.ok(agentPid, 'an agent process is running');
    const argv = fs.readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);

    process.kill(agentPid, 'SIGKILL');
    await waitFor('the agent to die', async () => !isAlive(agentPid));
    assert.ok(isAlive(containerPid), 'the container survives its agent');
    await waitFor('the container armed its trap', async () => /armed/.test(fs.readFileSync(replicaLog(cluster, replica.metadata.name), 'utf8')));
    process.kill(containerPid, 'SIGUSR1');
    await waitFor('the container to exit and be reaped while no agent runs', async () => !fs.existsSync(`/proc/${containerPid}`), 60_000);

    const log = fs.openSync(`${cluster.stateDir}/restarted-agent.log`, 'a');
    const restarted = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    restarted.unref();
    const exited = await waitFor('the exit reported by the restarted agent', async () => {
      const [now] = await cluster.replicas('seven');
      return now?.status?.lastExit ? now : undefined;
    }, 120_000);
    assert.equal(exited.status!.lastExit!.code, 7, JSON.stringify(exited.status));
    assert.equal(exited.status!.lastExit!.reason, 'Error');
    const table = await cluster.tsctl(['get', 'replicas']);
    assert.match(table.stdout, /seven-\S+\s.*Error \(7\)/, `LAST-EXIT "Error (7)" in:\n${table.stdout}`);
  });
});

/** The replica's log file, kept by the agent per replica under its node's state dir. */
function replicaLog(cluster: TestCluster, replicaName: string): string {
  const found = fs.readdirSync(cluster.stateDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.includes(replicaName) && file.endsWith('.log'));
  if (found.length === 0) throw new Error(`no log for ${replicaName} under ${cluster.stateDir}`);
  return `${cluster.stateDir}/${found[0]}`;
}
