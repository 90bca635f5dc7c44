/**
 * Issue 21, pause and unpause: the real docker CLI (Debian's docker.io client; no dockerd runs) and
 * tsctl freeze a container with the cgroup freezer. A paused counter stops counting (its cgroup is
 * frozen), `docker ps` shows "(Paused)", a paused replica of a Service leaves its published port
 * and is not restarted by its failing liveness probe, stays frozen through an agent kill and
 * restart, and counts and serves again once unpaused.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Replica } from '@tide/api';
import { AgentProcess } from './agent.process';
import { TestCluster, waitFor } from './harness';
import { DOCKER, Run, dockerEnv, runProgram } from './docker.client';

const BASE_PORT = 23900;
const PUBLISHED = BASE_PORT + 31;


/** The freezer's word on a process's group: v1 freezer.state (FROZEN/THAWED), else v2 cgroup.events' frozen (1/0). */
function freezerOf(pid: number): string {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('freezer'))?.split(':')[2];
  const v1File = v1 && path.join('/sys/fs/cgroup/freezer', v1, 'freezer.state');
  if (v1File && v1 !== '/' && fs.existsSync(v1File)) return fs.readFileSync(v1File, 'utf8').trim();
  if (v1 === '/') return 'THAWED'; // never paused: the group is made at the first pause
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3) ?? '';
  return /frozen (\d)/.exec(fs.readFileSync(path.join('/sys/fs/cgroup/unified', v2, 'cgroup.events'), 'utf8'))?.[1] === '1' ? 'FROZEN' : 'THAWED';
}

describe('pause and unpause with the cgroup freezer', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dockerHost = '';

  const docker = (args: string[], timeoutMs = 180_000) => runProgram(DOCKER, args, { env: dockerEnv(cluster.stateDir, dockerHost), timeoutMs });
  const explain = (run: Run) => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
  /** The counter's last line of output. */
  const count = async () => Number((await docker(['logs', '--tail', '1', 'counter'])).stdout.trim() || 0);
  const replica = async (name: string) => (await cluster.replicas()).find((r) => r.metadata.name === name);

  before(async () => {
    assert.ok(fs.existsSync(DOCKER), `${DOCKER} is missing: bash scripts/setup.sh installs Debian's docker.io (the client only)`);
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE_PORT, podCidr: '100.64.240.0/22', upFlags: ['--docker'] });
    const host = await cluster.tsctl(['docker-host']);
    assert.equal(host.code, 0, host.stderr);
    dockerHost = host.stdout.trim();
  });

  after(async () => {
    await cluster?.stop();
  });

  it('docker pause freezes a container (its count stands still, its cgroup frozen), ps shows it Paused; unpause resumes it', async () => {
    const run = await docker(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
    assert.equal(run.code, 0, explain(run));
    await waitFor('the counter to count', async () => (await count()) > 5 || undefined, 90_000);
    const pid = Number((await docker(['inspect', '--format', '{{.State.Pid}}', 'counter'])).stdout.trim());
    assert.ok(pid > 0, 'the container\'s pid on the node');

    const pause = await docker(['pause', 'counter']);
    assert.deepEqual([pause.code, pause.stdout], [0, 'counter\n'], explain(pause));
    assert.equal(freezerOf(pid), 'FROZEN');
    const frozenAt = await count();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(await count(), frozenAt, 'no count while paused');
    assert.match((await docker(['ps', '--format', '{{.Names}} {{.Status}}'])).stdout, /^counter Up .+ \(Paused\)\n$/);
    assert.equal((await docker(['inspect', '--format', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', 'counter'])).stdout, 'paused true true\n');
    const again = await docker(['pause', 'counter']);
    assert.match(again.stderr, /is already paused/, explain(again));
    const replicas = await cluster.tsctl(['get', 'replicas']);
    assert.match(replicas.stdout, /counter-\S+\s.*Paused/, replicas.stdout);

    const unpause = await docker(['unpause', 'counter']);
    assert.deepEqual([unpause.code, unpause.stdout], [0, 'counter\n'], explain(unpause));
    assert.equal(freezerOf(pid), 'THAWED');
    await waitFor(`the count to pass ${frozenAt} + 5`, async () => (await count()) > frozenAt + 5 || undefined, 30_000);
    assert.match((await docker(['ps', '--format', '{{.Names}} {{.Status}}'])).stdout, /^counter Up [^(]+\n$/);
    const notPaused = await docker(['unpause', 'counter']);
    assert.match(notPaused.stderr, /is not paused/, explain(notPaused));

    // tsctl's own verbs over the same container: pause, unpause, stop, rm.
    for (const verb of ['pause', 'unpause', 'stop', 'rm']) {
      const done = await cluster.tsctl(['replica', verb, 'counter']);
      assert.equal(done.code, 0, `tsctl replica ${verb}: ${done.stderr}`);
    }
    assert.equal((await docker(['ps', '-a', '--format', '{{.Names}}'])).stdout, '');
  });

  it('a paused replica of a Service leaves its published port, is not killed by liveness, stays paused through an agent restart', async () => {
    const applied = await cluster.apply([
      'apiVersion: tide/v1', 'kind: Service', 'metadata: { name: web }', 'spec:', '  replicas: 2', '  image: busybox',
      '  command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]',
      `  ports: [{ name: http, containerPort: 8080, publish: ${PUBLISHED} }]`,
      '  probes:',
      '    readiness: { httpGet: { path: /, port: http }, periodSeconds: 1 }',
      '    liveness: { httpGet: { path: /, port: http }, periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 1 }',
      '  resources: { requests: { cpu: 50m, memory: 32Mi } }',
    ].join('\n'));
    assert.equal(applied.code, 0, applied.stderr);
    const [node] = await cluster.nodeList();
    const answers = async (n: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const answer = await fetch(`http://${node.spec.address}:${PUBLISHED}/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
        if (answer?.ok) seen.add((await answer.text()).trim());
      }
      return seen;
    };
    const both = await waitFor('both replicas answering', async () => ((await answers(10)).size === 2 ? (await cluster.replicas('web')) : undefined), 120_000);
    const [paused, other] = both.map((r) => r.metadata.name).sort();

    const pause = await cluster.tsctl(['replica', 'pause', paused]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, new RegExp(`replica ${paused} \\(service web\\) is Paused`));
    const stored = (await replica(paused))!;
    assert.deepEqual([stored.status?.phase, stored.status?.ready], ['Paused', false]);
    await waitFor('only the other replica answering', async () => {
      const seen = await answers(10);
      return seen.size === 1 && seen.has(other) || undefined;
    }, 30_000);

    // Its liveness probe would fail every second against a frozen process: it is not run meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.deepEqual(await answers(10), new Set([other]));
    const agent = new AgentProcess(cluster, node.metadata.name);
    await agent.kill();
    agent.start({ logName: 'agent-restarted.log' });
    await waitFor('the restarted agent connected', async () => (await cluster.nodeList())[0]?.status?.ready || undefined, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const afterRestart = (await replica(paused)) as Replica;
    assert.deepEqual([afterRestart.status?.phase, afterRestart.status?.ready, afterRestart.status?.restartCount], ['Paused', false, 0], JSON.stringify(afterRestart.status));
    assert.equal(freezerOf(afterRestart.status!.pid!), 'FROZEN');
    assert.deepEqual(await answers(10), new Set([other]));

    const unpause = await cluster.tsctl(['replica', 'unpause', paused]);
    assert.equal(unpause.code, 0, unpause.stderr);
    await waitFor('both replicas answering again', async () => (await answers(10)).size === 2 || undefined, 60_000);
    const resumed = (await replica(paused))!;
    assert.deepEqual([resumed.status?.phase, resumed.status?.ready, resumed.status?.restartCount], ['Running', true, 0]);
    const refused = await cluster.tsctl(['replica', 'stop', paused]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /belongs to service "web", not to a container/);
  });
});
