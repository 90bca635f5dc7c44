/**
 * Issue 4 acceptance (cordon, drain, trough consolidation) on a real 2-node cluster: replicas move
 * off a node surge first, and a poller reading readiness through the API many times a second never
 * sees a service with fewer ready replicas than before. Readiness is the API's `ready` (Running
 * today; readiness probes with issue 5), so the same assertion holds once probes exist.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Node, Replica, TideEvent } from '@tide/api';
import { TestCluster, sleeperService, waitFor } from './harness';

const BASE_PORT = 19270;
const POD_CIDR = '100.64.192.0/22';
const CONSOLIDATION_DELAY_SECONDS = 2;

const service = (name: string, replicas: number, cpuMillis: number) => sleeperService(name, { replicas, cpu: `${cpuMillis}m`, memory: '16Mi' });

const live = (replicas: Replica[]) => replicas.filter((r) => !r.metadata.deletionTimestamp);
const readyCount = (replicas: Replica[], service: string) => live(replicas).filter((r) => r.spec.service === service && r.status?.ready).length;

/**
 * Reads every replica through the API as fast as it answers (about every 20 ms) and keeps, per
 * service, the fewest ready replicas seen; `stop()` gives them and the number of reads.
 */
function readinessPoller(cluster: TestCluster, services: string[]): { stop(): Promise<{ fewest: Record<string, number>; reads: number }> } {
  const fewest: Record<string, number> = Object.fromEntries(services.map((s) => [s, Infinity]));
  let reads = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const replicas = await cluster.replicas();
      reads++;
      for (const s of services) fewest[s] = Math.min(fewest[s], readyCount(replicas, s));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { fewest, reads };
    },
  };
}

describe('cordon, drain and consolidation on a local cluster', { timeout: 900_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({
      nodes: 2, basePort: BASE_PORT, podCidr: POD_CIDR, upFlags: ['--consolidation-delay-seconds', String(CONSOLIDATION_DELAY_SECONDS)],
    });
  });
  after(async () => cluster?.stop());

  const nodeOf = async (name: string) => (await cluster.nodeList()).find((n) => n.metadata.name === name)!;
  const events = async (reason: string) => (await cluster.api<{ items: TideEvent[] }>('/api/v1/events?namespace=all')).items.filter((e) => e.spec.reason === reason);
  const allReady = (service: string, count: number) => waitFor(`${count} ready ${service} replica(s)`, async () => {
    const replicas = await cluster.replicas(service);
    return live(replicas).length === count && readyCount(replicas, service) === count ? replicas : undefined;
  }, 60_000);
  const tsctlOk = async (args: string[], timeoutMs?: number) => {
    const run = await cluster.tsctl(args, { timeoutMs });
    assert.equal(run.code, 0, `tsctl ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };

  it('drains a node: every replica moves, surge first, never fewer ready; a drain with nowhere to go fails saying why', async (t) => {
    assert.equal((await cluster.apply(service('web', 2, 50))).code, 0);
    const before = await allReady('web', 2);
    const drained = before[0].spec.nodeName!;
    const other = (await cluster.nodeList()).map((n) => n.metadata.name).find((n) => n !== drained)!;
    const onDrained = live(before).filter((r) => r.spec.nodeName === drained).map((r) => r.metadata.name);

    const poller = readinessPoller(cluster, ['web']);
    const started = Date.now();
    const drain = await cluster.tsctl(['drain', drained, '--timeout', '300'], { timeoutMs: 330_000 });
    const { fewest, reads } = await poller.stop();
    t.diagnostic(`drain of ${onDrained.length} replica(s) took ${Date.now() - started} ms; ${reads} readiness reads, fewest ready ${fewest.web}\n${drain.stdout}`);
    assert.equal(drain.code, 0, drain.stderr);
    assert.match(drain.stdout, new RegExp(`node/${drained} cordoned\\n`));
    for (const name of onDrained) assert.match(drain.stdout, new RegExp(`${name}: moved to ${other} \\(web-`));
    assert.match(drain.stdout, new RegExp(`node/${drained} drained\\n$`));
    assert.ok(reads >= 2, `the poller read readiness ${reads} times during the drain`);
    assert.equal(fewest.web, 2, 'web never had fewer than its 2 ready replicas');

    const after = await cluster.replicas('web');
    assert.deepEqual(live(after).filter((r) => r.spec.nodeName === drained), [], 'nothing left on the drained node');
    assert.equal(readyCount(after, 'web'), 2);
    assert.equal((await events('Moved')).length, onDrained.length, 'a Moved event per replica');
    assert.match(await tsctlOk(['get', 'nodes']), new RegExp(`${drained}\\s+Ready,SchedulingDisabled`));

    // Both nodes cordoned: the replicas of the other node have nowhere to go. The time limit leaves a
    // loaded machine's scheduler room to say why before the drain gives up.
    const stuck = await cluster.tsctl(['drain', other, '--timeout', '15'], { timeoutMs: 90_000 });
    assert.equal(stuck.code, 1);
    assert.match(stuck.stderr, new RegExp(`drain of node ${other} timed out after 15s .*stuck: no other node can take its replacement .*0/2 nodes available: 2 cordoned`));
    assert.equal(readyCount(await cluster.replicas('web'), 'web'), 2, 'a stuck drain stops nothing');
    await waitFor('the withdrawn replacements to be gone', async () => live(await cluster.replicas('web')).length === 2);

    await tsctlOk(['uncordon', drained]);
    await tsctlOk(['uncordon', other]);
    assert.doesNotMatch(await tsctlOk(['get', 'nodes']), /SchedulingDisabled/);
    await tsctlOk(['delete', 'service', 'web']);
    await waitFor('web replicas to be gone', async () => (await cluster.replicas('web')).length === 0);
  });

  it('consolidates after a scale-in: a node becomes empty while every service stays ready', async (t) => {
    const [first, second] = (await cluster.nodeList()).map((n) => n.metadata.name).sort();
    for (const node of [first, second]) await tsctlOk(['uncordon', node]);
    // 40 % of a node each: `a` twice on `second`, `b` on `first`: neither node's replicas fit on the other.
    const cpu = Math.floor(Math.min(...(await cluster.nodeList()).map((n) => n.status!.allocatable.cpu)) * 0.4);
    await tsctlOk(['cordon', second]);
    assert.equal((await cluster.apply(service('b', 1, cpu))).code, 0);
    await allReady('b', 1);
    await tsctlOk(['uncordon', second]);
    await tsctlOk(['cordon', first]);
    assert.equal((await cluster.apply(service('a', 2, cpu))).code, 0);
    await allReady('a', 2);
    await tsctlOk(['uncordon', first]);
    const placement = async () => live(await cluster.replicas()).map((r) => `${r.spec.service}@${r.spec.nodeName}`).sort();
    assert.deepEqual(await placement(), [`a@${second}`, `a@${second}`, `b@${first}`]);
    // Longer than the delay: nothing is worth moving yet. (A window for something not to happen: a
    // slow machine can only make it miss a wrong consolidation, never fail a right one.)
    await new Promise((resolve) => setTimeout(resolve, (CONSOLIDATION_DELAY_SECONDS + 2) * 1000));
    assert.deepEqual(await events('Consolidating'), [], 'no consolidation while no node can be emptied');

    const poller = readinessPoller(cluster, ['a', 'b']);
    await tsctlOk(['scale', 'service', 'a', '--replicas', '1']);
    const emptied = await waitFor('a node emptied by consolidation', async () => {
      const nodes = await cluster.nodeList();
      const used = new Set((await cluster.replicas()).map((r) => r.spec.nodeName));
      const idle = nodes.filter((n: Node) => !used.has(n.metadata.name));
      return idle.length === 1 && !nodes.some((n) => n.spec.drain) && (await events('Consolidated')).length === 1 ? idle[0].metadata.name : undefined;
    }, 180_000);
    const { fewest, reads } = await poller.stop();
    t.diagnostic(`node ${emptied} emptied; ${reads} readiness reads, fewest ready ${JSON.stringify(fewest)}`);
    assert.ok(reads >= 2, `the poller read readiness ${reads} times`);
    assert.deepEqual(fewest, { a: 1, b: 1 }, 'neither service ever had fewer ready replicas than after the scale-in');
    assert.equal(readyCount(await cluster.replicas(), 'a') + readyCount(await cluster.replicas(), 'b'), 2);
    assert.equal((await nodeOf(emptied)).spec.cordoned ?? false, false, 'the emptied node is not cordoned: it could take replicas again');
    assert.equal((await events('Consolidating')).length, 1, 'one consolidation, no back and forth');
    assert.match(await tsctlOk(['get', 'nodes']), new RegExp(`${emptied}\\s+Ready\\s+\\S+\\s+0/`), 'get nodes shows nothing requested on it');
  });
});
