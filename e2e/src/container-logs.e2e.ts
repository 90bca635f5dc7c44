/**
 * Containers' logs on a node whose agent keeps 3 files of 64 KiB per container: a container writing
 * as fast as it can never holds more than a bounded few megabytes of disk, and `tsctl logs` reads
 * the last lines, what was written since a time, the previous container and every replica of a
 * service. Ports 21470-21499 (API; gRPC +1, etcd +2/+3, registry +4, the agent +11).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentProcess } from './agent.process';
import { TestCluster, running, waitFor } from './harness';

const BASE = 21470;
const POD_CIDR = '100.64.60.0/22';
const MAX_SIZE = 64 * 1024;
const MAX_FILES = 3;
/** What a flood may hold at once: 3 files of at most twice the maximum, plus one half-second check's writes at 100m of CPU. */
const FLOOD_BOUND = 32 * 2 ** 20;

const FLOOD = `apiVersion: tide/v1
kind: Service
metadata: { name: flood }
spec:
  replicas: 1
  image: busybox
  command: ["sh", "-c", "line=$(printf '%0200d' 0); while :; do echo \\"$line\\"; done"]
  resources: { limits: { cpu: 100m } }
  terminationGracePeriodSeconds: 0
`;
// Each container says who it is, counts to 9, waits 8 s and exits: restarted, it leaves a previous instance.
const COUNTER = `apiVersion: tide/v1
kind: Service
metadata: { name: counter }
spec:
  replicas: 2
  image: busybox
  command: ["sh", "-c", "echo \\"instance $(cat /proc/sys/kernel/random/uuid)\\"; i=0; while [ $i -lt 10 ]; do echo \\"tick $i\\"; i=$((i+1)); sleep 0.1; done; sleep 8; exit 3"]
  terminationGracePeriodSeconds: 0
`;

describe('container logs', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let logDir = '';

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
    const agent = new AgentProcess(cluster, 'node-1');
    logDir = path.join(agent.stateDir, 'logs');
    await agent.kill();
    agent.start({ flags: ['--container-log-max-size', String(MAX_SIZE), '--container-log-max-files', String(MAX_FILES)], logName: 'agent-small-logs.log' });
    await waitFor('node-1 ready again', async () => (await cluster.nodeList()).every((n) => n.status?.ready), 120_000);
  });
  after(async () => cluster?.stop());

  const logsOf = async (args: string[]) => {
    const result = await cluster.tsctl(['logs', ...args]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  it('keeps a flooding container\'s log within files × size', async () => {
    assert.equal((await cluster.apply(FLOOD)).code, 0);
    const [replica] = await waitFor('the flood running', async () => {
      const replicas = running(await cluster.replicas('flood'));
      return replicas.length === 1 ? replicas : undefined;
    }, 120_000);
    const id = `default.${replica.metadata.name}`;
    const files = () => fs.readdirSync(logDir).filter((name) => name.startsWith(`${id}.`)).map((name) => path.join(logDir, name));
    const bytes = () => files().reduce((sum, file) => sum + (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0);
    await waitFor('the flood rotated to its last file', async () => files().length === MAX_FILES, 60_000);
    let largest = 0;
    for (const until = Date.now() + 15_000; Date.now() < until;) {
      largest = Math.max(largest, bytes());
      assert.ok(files().length <= MAX_FILES, `at most ${MAX_FILES} files: ${files().join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(largest <= FLOOD_BOUND, `the flood held at most ${FLOOD_BOUND} bytes, held ${largest}`);
    const last = await logsOf([replica.metadata.name, '--tail', '1']);
    assert.match(last, /^0{200}\n$/, 'the last line, whole');
    assert.equal((await cluster.tsctl(['delete', 'service', 'flood'])).code, 0);
    await waitFor('the flood\'s files gone with it', async () => files().length === 0, 120_000);
  });

  it('reads the last lines, since a time, the previous container, and every replica of a service', async () => {
    assert.equal((await cluster.apply(COUNTER)).code, 0);
    const replicas = await waitFor('both counters restarted once', async () => {
      const listed = await cluster.replicas('counter');
      // Restarted (the count goes up at the exit) and running again: the new container has started.
      return listed.length === 2 && listed.every((r) => (r.status?.restartCount ?? 0) >= 1 && r.status?.phase === 'Running') ? listed : undefined;
    }, 180_000);
    const name = replicas[0].metadata.name;
    const previous = await logsOf([name, '--previous']);
    assert.match(previous, /^instance \S+\ntick 0\n(tick \d\n)*tick 9\n$/, 'the whole previous container');
    const current = await waitFor('the new container counted to 9', async () => {
      const text = await logsOf([name]);
      return text.includes('tick 9\n') ? text : undefined;
    }, 60_000);
    assert.notEqual(/instance (\S+)/.exec(current)?.[1], /instance (\S+)/.exec(previous)?.[1], 'another container now');
    assert.equal((await logsOf([name, '--tail', '2'])).split('\n').length, 3, 'two lines and the final newline');
    assert.equal(await logsOf([name, '--since', new Date(Date.now() + 3_600_000).toISOString()]), '', 'nothing written in the future');
    assert.match(await logsOf([name, '--since', '1h']), /instance /);
    const all = await logsOf(['service/counter', '--tail', '1']);
    const lines = all.trim().split('\n').sort();
    assert.deepEqual(lines.map((line) => /^\[(counter-[^\]]+)\] /.exec(line)?.[1]).sort(), replicas.map((r) => r.metadata.name).sort(), 'one line of each replica, prefixed');
    const refused = await cluster.tsctl(['logs', name, '--since', 'a while']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--since: expected a duration/);
  });
});
