/**
 * Issue 2 acceptance: a real local cluster (etcd, control plane, two node agents) runs real
 * containers end to end. One cluster is shared by the tests of this file, in order.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import {
  TestCluster,
  cgroupsMentioning,
  isAlive,
  mountsMentioning,
  pidsMentioning,
  running,
  waitFor,
} from './harness';

function service(name: string, replicas: number, script: string, extra = ''): string {
  return `apiVersion: tide/v1
kind: Service
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  image: busybox
  command: ["sh", "-c", ${JSON.stringify(script)}]
  resources:
    requests: { cpu: 50m, memory: 16Mi }
    limits: { cpu: 500m, memory: 64Mi }
  terminationGracePeriodSeconds: 1
${extra}`;
}

describe('a local Tide cluster', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: 17070, podCidr: '100.64.4.0/22' });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('shows both nodes Ready with their own addresses', async () => {
    const nodes = await cluster.nodeList();
    assert.equal(nodes.length, 2);
    assert.ok(nodes.every((n) => n.status?.ready), 'every node is ready');
    assert.equal(new Set(nodes.map((n) => n.spec.address)).size, 2, 'each node has its own address');
  });

  it('runs replicas isolated: own PID 1, own hostname, own files', async () => {
    // Each replica leaves a file named after itself in /tmp, waits, then lists /tmp: a shared root would show both.
    const script = 'touch /tmp/$(hostname); sleep 2; echo "HOST=$(hostname)"; echo "FILES=$(ls /tmp | tr "\\n" " ")"; ps -o pid,args; sleep 3600';
    const applied = await cluster.apply(service('iso', 2, script));
    assert.equal(applied.code, 0, applied.stderr);
    const replicas = await waitFor('2 running iso replicas', async () => {
      const list = running(await cluster.replicas('iso'));
      return list.length === 2 ? list : undefined;
    }, 60_000);
    for (const replica of replicas) {
      const name = replica.metadata.name;
      const log = await waitFor(`the log of ${name}`, async () => {
        const out = await cluster.tsctl(['logs', name]);
        return out.stdout.includes('FILES=') && out.stdout.includes('PID') ? out.stdout : undefined;
      });
      assert.match(log, new RegExp(`HOST=${name}\\b`), 'hostname is the replica name');
      assert.match(log, new RegExp(`FILES=${name} *$`, 'm'), 'only its own file is visible in /tmp');
      const pid1 = log.split('\n').find((line) => /^\s*1\s/.test(line));
      assert.ok(pid1?.includes('sh -c'), `PID 1 is the replica's command, got ${pid1}`);
      const processLines = log.split('\n').filter((line) => /^\s*\d+\s/.test(line));
      assert.ok(processLines.length <= 4, `ps shows nothing of the host:\n${log}`);
    }
  });

  it('reports an OOM kill as OOMKilled and restarts the replica', async () => {
    const applied = await cluster.apply(service('oom', 1, 'tail /dev/zero').replace('memory: 64Mi', 'memory: 24Mi'));
    assert.equal(applied.code, 0, applied.stderr);
    const replica = await waitFor('an OOMKilled exit', async () => {
      const [r] = await cluster.replicas('oom');
      return r?.status?.lastExit?.reason === 'OOMKilled' && r.status.restartCount >= 1 ? r : undefined;
    }, 60_000);
    assert.ok(replica.status!.restartCount >= 1);
  });

  it('restarts a failing replica with a growing backoff', async () => {
    try {
      const applied = await cluster.apply(service('crash', 1, 'echo crashing; exit 1'));
      assert.equal(applied.code, 0, applied.stderr);
      const [r] = await waitFor('three restarts', async () => {
        const list = await cluster.replicas('crash');
        return (list[0]?.status?.restartCount ?? 0) >= 3 ? list : undefined;
      }, 120_000, 100);
      assert.equal(r.status?.lastExit?.code, 1);
      // Backoff 1 s, 2 s, 4 s, as the agent decided each restart (its timers are unit-tested on a manual clock).
      const delays = cluster.logLines(new RegExp(`/${r.metadata.name}: container exited .*; back-off [\\d.]+ s before restart [123]$`))
        .map((line) => Number(/back-off ([\d.]+) s/.exec(line)![1]));
      assert.deepEqual(delays, [1, 2, 4], `the backoff grows; the agent said:\n${cluster.logLines(new RegExp(`/${r.metadata.name}: `)).join('\n')}`);
    } finally {
      // The later tests count every replica on the nodes: none of these may outlive this test.
      await cluster.tsctl(['delete', 'service', 'crash']);
      await cluster.tsctl(['delete', 'service', 'oom']);
    }
  });

  it('scales 3 → 5 → 1 and converges', async () => {
    const applied = await cluster.apply(service('web', 3, 'sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    for (const target of [3, 5, 1]) {
      const scaled = await cluster.tsctl(['scale', 'service', 'web', '--replicas', String(target)]);
      assert.equal(scaled.code, 0, scaled.stderr);
      await waitFor(`${target} running web replicas and no others`, async () => {
        const all = await cluster.replicas('web');
        return all.length === target && running(all).length === target ? true : undefined;
      }, 60_000);
    }
  });

  it('keeps replicas running when an agent is killed, and the restarted agent adopts them', async () => {
    const before = running(await cluster.replicas());
    const pidsBefore = new Map(before.map((r) => [r.metadata.name, r.status!.pid!]));
    const [agentPid] = pidsMentioning('node-agent/dist/main.js').filter((pid) =>
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cluster.stateDir),
    );
    assert.ok(agentPid, 'an agent process is running');
    const argv = fs.readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // The node's reaper outlives its agent and starts the new one itself (the command started below
    // stands in for it): what the new agent says goes to the node's log, from here on.
    const nodeLog = `${cluster.stateDir}/${argv[argv.indexOf('--name') + 1]}.log`;
    const from = fs.statSync(nodeLog).size;
    const said = () => fs.readFileSync(`${cluster.stateDir}/restarted-agent.log`, 'utf8') + fs.readFileSync(nodeLog).subarray(from).toString('utf8');
    process.kill(agentPid, 'SIGKILL');
    await waitFor('the agent to die', async () => !isAlive(agentPid));
    for (const pid of pidsBefore.values()) assert.ok(isAlive(pid), `container pid ${pid} survives the agent`);

    const log = fs.openSync(`${cluster.stateDir}/restarted-agent.log`, 'a');
    const restarted = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    restarted.unref();
    // The restarted agent adopts what it finds, then compares it with its desired set: nothing to start.
    const desired = await waitFor('the restarted agent\'s desired set', async () => said().match(/desired \d+ replica\(s\): .*/)?.[0]);
    assert.match(said(), /adopted \d+ container\(s\) left by an earlier agent/);
    assert.match(desired, /: 0 new, 0 no longer desired, \d+ unchanged$/, 'every desired replica adopted, none started again');
    const after = await waitFor('all replicas running after the agent restart', async () => {
      const now = running(await cluster.replicas());
      return now.length === before.length ? now : undefined;
    });
    assert.equal((await cluster.replicas()).length, before.length, 'no duplicate replicas');
    for (const r of after) {
      assert.equal(r.status?.pid, pidsBefore.get(r.metadata.name), `${r.metadata.name} was adopted, not restarted`);
    }
    for (const pid of pidsBefore.values()) assert.ok(isAlive(pid), `container pid ${pid} still runs`);
  });

  it('deletes a service and leaves no process, mount or cgroup behind', async () => {
    const replicas = await cluster.replicas('web');
    const pids = replicas.map((r) => r.status!.pid!);
    const deleted = await cluster.tsctl(['delete', 'service', 'web']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor('web replicas gone', async () => ((await cluster.replicas('web')).length === 0 ? true : undefined), 60_000);
    for (const pid of pids) assert.ok(!isAlive(pid), `pid ${pid} is gone`);
    for (const r of replicas) {
      assert.deepEqual(cgroupsMentioning(r.metadata.name), [], 'no cgroup left');
      assert.deepEqual(mountsMentioning(r.metadata.name), [], 'no mount left');
      assert.ok(!fs.existsSync(`${cluster.stateDir}/nodes`) ||
        !fs.readdirSync(`${cluster.stateDir}/nodes`, { recursive: true }).some((p) => String(p).includes(r.metadata.name)),
        'no state dir left');
    }
  });
});
