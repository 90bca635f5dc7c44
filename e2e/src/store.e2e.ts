/**
 * The store and API under the faults of issue 17, on a real control plane and etcd with hollow
 * nodes (the real agent protocol, no containers): a service whose template carries 200 kB of env
 * scales to 100 replicas while other services keep syncing; two applies from one stale read get
 * exactly one 409; etcd paused: /readyz 503 with the reason, reads stale or 503, writes 503 with
 * Retry-After and never applied later; etcd out of space (a 256 MiB quota filled): writes 507 naming
 * NOSPACE, reads and deletes work, and writes work again once space is freed.
 * Ports 22800 (API), 22801 (gRPC), 22802-22803 (etcd).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Replica, Service } from '@tide/api';
import { REPO, pidsMentioning, waitFor } from './harness';
import { joinAs } from './node.credentials';
import { ControlPlaneProcess } from './bench/control-plane.process';
import { HollowNode } from './bench/hollow.agent';

const BASE_PORT = 22800;
const NODES = 12;
/**
 * Room for 20 replicas of 1000m a node: the 100 of the large service spread (max skew 1) 8 or 9 a
 * node, leaving every node room for the small ones, which spread too (with 10 a node, 9 nodes were
 * full and the small services' spread could not be kept: "0/12 nodes available: 9 insufficient cpu,
 * 3 service spread"). Each node's assignments stay under 2 MB.
 */
const NODE_CPU = 20_000;
/**
 * Large enough for the 100 replicas' history (each of their writes is 200 kB) until compaction,
 * small enough to fill with a few hundred applies.
 */
const QUOTA_BYTES = 256 * 2 ** 20;

function serviceDoc(name: string, replicas: number, options: { envBytes?: number; cpu?: string } = {}): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: {
      replicas, image: 'busybox', command: ['sleep', '3600'],
      resources: { requests: { cpu: options.cpu ?? '100m', memory: '16Mi' } },
      ...(options.envBytes ? { env: { PADDING: 'x'.repeat(options.envBytes) } } : {}),
    },
  };
}

describe('store and API under faults', { timeout: 900_000 }, () => {
  const cp = new ControlPlaneProcess(BASE_PORT, path.join(REPO, 'apps/control-plane/dist/main.js'),
    ['--id', 'store-e2e', '--node-lease-seconds', '30', '--etcd-quota-bytes', String(QUOTA_BYTES), '--etcd-compaction-retention', '1m'], 'tide-store-e2e-');
  const agents: HollowNode[] = [];
  const json = { 'Content-Type': 'application/json' };
  const apply = (documents: unknown[], force = false) => cp.fetch('/api/v1/apply', { method: 'POST', headers: json, body: JSON.stringify({ documents, force }) });
  const service = (name: string) => cp.api<Service>(`/api/v1/services/${name}`);
  const replicasOf = async (name: string) => (await cp.api<{ items: Replica[] }>(`/api/v1/replicas?service=${name}`)).items;

  /** What a failed wait shows: each service's replicas by phase, and the control plane's log. */
  async function situation(): Promise<string> {
    const phases: Record<string, Record<string, number>> = {};
    const pending: string[] = [];
    for (const name of ['large', 'small-a', 'small-b']) {
      for (const r of await replicasOf(name).catch(() => [])) {
        const phase = r.status?.phase ?? 'none';
        phases[name] = { ...phases[name], [phase]: (phases[name]?.[phase] ?? 0) + 1 };
        if (phase === 'Pending') pending.push(`${r.metadata.name} rv ${r.metadata.resourceVersion}: ${r.status?.unschedulable?.summary ?? r.status?.message ?? 'no reason given'}`);
      }
    }
    const nodes = (await cp.api<{ items: { metadata: { name: string }; status?: { ready: boolean; requested?: unknown } }[] }>('/api/v1/nodes').catch(() => ({ items: [] }))).items
      .map((n) => `${n.metadata.name} ready=${n.status?.ready} requested=${JSON.stringify(n.status?.requested)}`);
    return `${JSON.stringify(phases)}\n${pending.join('\n')}\n${nodes.join('\n')}\n${cp.logTail()}`;
  }

  before(async () => {
    cp.start();
    await waitFor('the control plane', () => cp.api('/healthz').then(() => true), 60_000);
    const join = await cp.api<{ token: string }>('/api/v1/tokens', { method: 'POST', headers: json, body: JSON.stringify({ kind: 'join', uses: NODES }) });
    const caPem = fs.readFileSync(path.join(cp.dir, 'pki', 'ca.crt'), 'utf8');
    for (let i = 0; i < NODES; i++) {
      const name = `store-${i}`;
      const node = new HollowNode({
        name, credentials: await joinAs(cp.server, caPem, join.token, name), address: `198.18.7.${i + 1}`, controlPlane: `127.0.0.1:${BASE_PORT + 1}`,
        cpuMillis: NODE_CPU, memoryBytes: 64 * 2 ** 30, images: ['busybox:latest'], onAssigned: () => undefined,
      });
      agents.push(node);
      await node.start();
    }
    await waitFor(`${NODES} Ready nodes`, async () => (await cp.api<{ items: { status?: { ready: boolean } }[] }>('/api/v1/nodes')).items.filter((n) => n.status?.ready).length === NODES);
  });

  after(async () => {
    for (const agent of agents) agent.close();
    resumeEtcd();
    await cp.stop();
    assert.deepEqual(pidsMentioning(cp.dir), [], 'no control plane or etcd left running');
  });

  it('scales a service with 200 kB of env to 100 replicas while other services keep syncing', async () => {
    assert.equal((await apply([serviceDoc('large', 1, { envBytes: 200 * 1024, cpu: '1000m' }), serviceDoc('small-a', 1), serviceDoc('small-b', 1)])).status, 200);
    await waitFor('the first replicas Running', async () => (await service('large')).status?.runningReplicas === 1);
    const scale = (name: string, replicas: number) => cp.fetch(`/api/v1/services/${name}/scale`, { method: 'PUT', headers: json, body: JSON.stringify({ replicas }) });
    assert.equal((await scale('large', 100)).status, 200);
    // While the large one's 100 replicas (20 MB of templates) are created, bound and reported, the
    // small ones are scaled back and forth and must reach each count asked for.
    for (const replicas of [4, 2, 6]) {
      assert.equal((await scale('small-a', replicas)).status, 200);
      assert.equal((await scale('small-b', replicas + 1)).status, 200);
      await waitFor(`small-a at ${replicas} and small-b at ${replicas + 1} Running`, async () =>
        (await service('small-a')).status?.runningReplicas === replicas && (await service('small-b')).status?.runningReplicas === replicas + 1, 120_000)
        .catch(async (error: Error) => Promise.reject(new Error(`${error.message}: ${await situation()}`)));
    }
    await waitFor('100 replicas of the large service Running', async () => (await service('large')).status?.runningReplicas === 100, 300_000, 500)
      .catch(async (error: Error) => Promise.reject(new Error(`${error.message}: ${await situation()}`)));
    const large = await replicasOf('large');
    assert.equal(large.length, 100);
    assert.ok(large.every((r) => r.spec.nodeName && r.spec.template.env?.PADDING?.length === 200 * 1024), 'every replica bound, with its whole template');
    const events = await cp.api<{ items: { spec: { reason: string; message: string } }[] }>('/api/v1/events?namespace=default');
    assert.deepEqual(events.items.filter((e) => e.spec.reason === 'SyncFailed').map((e) => e.spec.message), [], 'no service failed to sync');
  });

  it('refuses a Service too large to store, naming it and its largest field, writing nothing', async () => {
    const response = await apply([serviceDoc('too-large', 1, { envBytes: 1100 * 1024 })]);
    assert.equal(response.status, 400);
    const body = await response.json() as { details: { path: string; message: string }[] };
    assert.match(body.details[0].message, /Service default\/too-large is 1\.\d MiB stored, over the .* an object may take.*spec\.env/);
    assert.equal((await cp.fetch('/api/v1/services/too-large')).status, 404);
  });

  it('gives exactly one 409 to two concurrent applies from the same stale read', async () => {
    const read = await service('small-a');
    const version = read.metadata.resourceVersion!;
    const edited = (replicas: number) => ({ ...serviceDoc('small-a', replicas), metadata: { name: 'small-a', namespace: 'default', resourceVersion: version } });
    const answers = await Promise.all([apply([edited(3)]), apply([edited(5)])]);
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    assert.match(((await refused.json()) as { error: string }).error, /small-a changed since it was read: resourceVersion \d+ is stale/);
    // The same stale version again: 409; with force, written.
    assert.equal((await apply([edited(7)])).status, 409);
    assert.equal((await apply([edited(7)], true)).status, 200);
    assert.equal((await service('small-a')).spec.replicas, 7);
  });

  let etcdPid: number | undefined;
  function resumeEtcd(): void {
    if (etcdPid) process.kill(etcdPid, 'SIGCONT');
    etcdPid = undefined;
  }

  it('with etcd paused: /readyz 503 with the reason, /healthz 200, stale reads, writes 503 + Retry-After never applied later', async () => {
    const pid = pidsMentioning(path.join(cp.dir, 'etcd')).find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0].endsWith('etcd'));
    assert.ok(pid, 'the supervised etcd runs');
    process.kill(pid, 'SIGSTOP');
    etcdPid = pid;
    try {
      const ready = await waitFor('/readyz to say etcd is unreachable', async () => {
        const response = await cp.fetch('/readyz');
        return response.status === 503 ? (await response.json()) as { reason: string; etcd: { reachable: boolean } } : undefined;
      });
      assert.equal(ready.etcd.reachable, false);
      assert.match(ready.reason, /etcd unreachable/);
      assert.equal((await cp.fetch('/healthz')).status, 200, 'liveness is the process, not etcd');
      const write = await apply([serviceDoc('during-outage', 1)]);
      assert.equal(write.status, 503);
      assert.ok(Number(write.headers.get('retry-after')) > 0, 'Retry-After given');
      assert.match(((await write.json()) as { error: string }).error, /nothing was written/);
      const list = await cp.fetch('/api/v1/services');
      assert.equal(list.status, 200);
      assert.ok(list.headers.get('x-tide-stale'), 'a list from the cache is marked stale');
      const one = await cp.fetch('/api/v1/services/small-b');
      assert.equal(one.status, 200);
      assert.ok(one.headers.get('x-tide-stale'), 'a single read from the cache is marked stale');
    } finally {
      resumeEtcd();
    }
    await waitFor('/readyz 200 again', async () => (await cp.fetch('/readyz')).status === 200);
    // A write after the outage goes through, and the refused one never appears.
    assert.equal((await apply([serviceDoc('after-outage', 1)])).status, 200);
    assert.equal((await cp.fetch('/api/v1/services/during-outage')).status, 404);
  });

  it('on NOSPACE answers writes 507 naming it, keeps reads and deletes, and takes writes again once space is freed', async () => {
    const filled: string[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 600 && !refused; i++) {
      const response = await apply([serviceDoc(`fill-${i}`, 0, { envBytes: 900 * 1024 })]);
      if (response.status === 200) filled.push(`fill-${i}`);
      else refused = response;
    }
    assert.ok(refused, 'etcd filled its quota');
    assert.equal(refused.status, 507, await refused.clone().text());
    assert.match(((await refused.json()) as { error: string }).error, /NOSPACE/);
    assert.equal((await cp.fetch('/api/v1/services/small-b')).status, 200, 'reads work');
    const ready = await waitFor('/readyz to show the alarm', async () => {
      const body = (await (await cp.fetch('/readyz')).json()) as { ready: boolean; reason?: string; etcd: { alarms: string[] } };
      return body.etcd.alarms.includes('NOSPACE') ? body : undefined;
    });
    assert.equal(ready.ready, true, 'reads still work: ready');
    assert.match(ready.reason ?? '', /NOSPACE/);
    // Deletes are taken under NOSPACE; one may meet etcd busy and be tried again, as a client does: a
    // 503 says nothing was done, a 504 that etcd did not answer in time (the delete may have been
    // applied, so the next try may find the service gone: 404).
    for (const name of filled) {
      const statuses: number[] = [];
      await waitFor(`delete ${name}`, async () => {
        statuses.push((await cp.fetch(`/api/v1/services/${name}`, { method: 'DELETE' })).status);
        return statuses.at(-1) !== 503 && statuses.at(-1) !== 504;
      }, 60_000, 1000);
      const applied = statuses.at(-1) === 200 || (statuses.at(-1) === 404 && statuses.includes(504));
      assert.ok(applied, `delete ${name}: ${statuses.join(', ')}`);
    }
    // The leader's maintenance compacts, defragments and disarms the alarm.
    await waitFor('writes taken again', async () => (await apply([serviceDoc('after-nospace', 1)])).status === 200, 120_000, 1000);
    assert.equal((await service('after-nospace')).metadata.name, 'after-nospace');
  });
});
