/** The dashboard's routes on a real etcd: /ui/ files and the /api/v1/watch stream (snapshot, changes, roles). */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { API_VERSION, type DashboardChanges, type DashboardSnapshot, type DashboardUsage, type NodeUsageReport, type Replica, type Service } from '@tide/api';
import { encodeObject, objectKey } from '@tide/store';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { DashboardStream } from './dashboard.stream';
import type { HistoryPoint } from './service.history';

const INDEX = '<!doctype html><title>Tide</title><script src="/ui/assets/main-ABC123.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

type Message = { event: 'snapshot'; data: DashboardSnapshot } | { event: 'changes'; data: DashboardChanges } | { event: 'usage'; data: DashboardUsage };

/** An open /api/v1/watch: the messages so far, and a wait for one that matches. */
interface Watch {
  messages: Message[];
  next(match: (message: Message) => boolean, what: string): Promise<Message>;
  close(): void;
}

async function openWatch(api: ApiHarness, query = '', token?: string): Promise<Watch> {
  const controller = new AbortController();
  const response = await api.fetch(`/api/v1/watch${query}`, { signal: controller.signal, ...(token ? { token } : {}) });
  if (response.status !== 200) assert.fail(`GET /api/v1/watch${query}: ${response.status} ${await response.text()}`);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) messages.push({ event, data: JSON.parse(data) } as Message);
        waiters.forEach((wake) => wake());
      }
    }
  })().catch(() => undefined);
  return {
    messages,
    close: () => controller.abort(),
    next: (match, what) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no watch message ${what} within 30 s; got ${JSON.stringify(messages).slice(0, 2000)}`)), 30_000);
      const check = () => {
        const found = messages.find(match);
        if (!found) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    }),
  };
}

/** node-1's agent: web-aaaaa used 0.25 s of CPU in the second between two samples, and 48 MiB. */
function usageOfNode1(atMs: number, cpuSeconds: number): NodeUsageReport {
  return {
    nodeName: 'node-1', timestampMs: atMs, services: [],
    replicas: [{ namespace: 'default', name: 'web-aaaaa', cpuUsageSeconds: cpuSeconds, memoryWorkingSetBytes: 48 * 2 ** 20, memoryUsageBytes: 64 * 2 ** 20, startedAt: '2024-01-01T00:00:00Z' }],
  };
}

const upserted = (name: string) => (m: Message) => m.event === 'changes' && m.data.replicas.upsert.some((r) => r.name === name);

describe('dashboard routes', { timeout: 300_000 }, () => {
  let api: ApiHarness;
  let uiDir: string;

  before(async () => {
    uiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-ui-'));
    fs.mkdirSync(path.join(uiDir, 'assets'));
    fs.writeFileSync(path.join(uiDir, 'index.html'), INDEX);
    fs.writeFileSync(path.join(uiDir, 'assets', 'main-ABC123.js'), SCRIPT);
    api = await startApiHarness({ uiDir });
    await api.addNode('node-1', 1);
    await api.addReplica('web-aaaaa', { service: 'web', image: 'busybox', nodeName: 'node-1' });
    await api.addReplica('web-bbbbb', { service: 'web', image: 'busybox' });
  });
  after(async () => {
    await api?.close();
    fs.rmSync(uiDir, { recursive: true, force: true });
  });

  describe('/ui/', () => {
    it('serves the page to anyone, revalidated each load, with a policy that forbids other origins and framing', async () => {
      const page = await api.fetch('/ui/', { token: null });
      assert.equal(page.status, 200);
      assert.equal(await page.text(), INDEX);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(page.headers.get('cache-control'), 'no-cache');
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'.*frame-ancestors 'none'/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      const etag = page.headers.get('etag')!;
      const again = await api.fetch('/ui/', { token: null, headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
    });

    it('redirects /ui to /ui/', async () => {
      const response = await api.fetch('/ui', { token: null, redirect: 'manual' });
      assert.equal(response.status, 308);
      assert.equal(response.headers.get('location'), '/ui/');
    });

    it('serves hashed assets compressed, kept by the browser for a year', async () => {
      const script = await api.fetch('/ui/assets/main-ABC123.js', { token: null, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(script.status, 200);
      assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(script.headers.get('content-encoding'), 'gzip');
      assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(await script.text(), SCRIPT); // fetch undoes the gzip
      const plain = await api.fetch('/ui/assets/main-ABC123.js', { token: null, headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.headers.get('content-encoding'), null);
      assert.equal(await plain.text(), SCRIPT);
    });

    it('answers 404 naming a file that is not there, and nothing outside the bundle', async () => {
      const missing = await api.fetch('/ui/assets/nope.js', { token: null });
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: string }).error, '/ui/assets/nope.js: no such file in the dashboard');
      const outside = await api.fetch('/ui/%2e%2e%2fpackage.json', { token: null });
      assert.equal(outside.status, 404);
    });
  });

  describe('/api/v1/watch', () => {
    it('refuses a caller without credentials (401) and a view token of another namespace (403)', async () => {
      const anonymous = await api.fetch('/api/v1/watch', { token: null });
      assert.equal(anonymous.status, 401);
      const elsewhere = await api.fetch('/api/v1/watch?namespace=default', { token: await api.token('view', 'shop') });
      assert.equal(elsewhere.status, 403);
      assert.match(((await elsewhere.json()) as { error: string }).error, /limited to namespace "shop"/);
    });

    it('starts with a snapshot of nodes and replicas, and what the admin may do', async () => {
      const watch = await openWatch(api);
      try {
        const { data } = (await watch.next((m) => m.event === 'snapshot', 'snapshot')) as Extract<Message, { event: 'snapshot' }>;
        assert.equal(data.namespace, 'default');
        assert.deepEqual(data.may, { scale: true, rollback: true, cordon: true, drain: true });
        assert.deepEqual(data.nodes.map((n) => [n.name, n.ready, n.cordoned, n.allocatable.cpu]), [['node-1', true, false, 900]]);
        assert.deepEqual(data.replicas.map((r) => [r.name, r.service, r.node, r.phase]).sort(), [
          ['web-aaaaa', 'web', 'node-1', 'Pending'], ['web-bbbbb', 'web', undefined, 'Pending'],
        ]);
      } finally {
        watch.close();
      }
    });

    it('tells a view token it may change nothing', async () => {
      const watch = await openWatch(api, '', await api.token('view'));
      try {
        const snapshot = (await watch.next((m) => m.event === 'snapshot', 'snapshot')).data as DashboardSnapshot;
        assert.match(snapshot.subject, /^token:/);
        assert.deepEqual(snapshot.may, { scale: false, rollback: false, cordon: false, drain: false });
      } finally {
        watch.close();
      }
    });

    it('sends changes: a new replica, a cordoned node, a deleted replica', async () => {
      const watch = await openWatch(api);
      try {
        await watch.next((m) => m.event === 'snapshot', 'snapshot');
        await api.addReplica('web-ccccc', { service: 'web', image: 'busybox', nodeName: 'node-1' });
        await watch.next(upserted('web-ccccc'), 'with web-ccccc');
        const cordoned = await api.fetch('/api/v1/nodes/node-1/cordon', { method: 'POST' });
        assert.equal(cordoned.status, 200);
        await watch.next((m) => m.event === 'changes' && m.data.nodes.upsert.some((n) => n.name === 'node-1' && n.cordoned), 'with node-1 cordoned');
        await api.store.delete('Replica', 'default', 'web-ccccc');
        await watch.next((m) => m.event === 'changes' && m.data.replicas.remove.includes('default/web-ccccc'), 'removing web-ccccc');
      } finally {
        watch.close();
      }
    });

    it('sends what the nodes used: 250m and 48Mi on node-1, to admin and view tokens', async () => {
      api.usage.record(usageOfNode1(1000, 10));
      api.usage.record(usageOfNode1(2000, 10.25));
      for (const token of [undefined, await api.token('view')]) {
        const watch = await openWatch(api, '', token);
        try {
          const usage = await watch.next((m) => m.event === 'usage', 'usage');
          assert.deepEqual((usage.data as DashboardUsage).nodes, [{ name: 'node-1', cpu: 250, memory: 48 * 2 ** 20 }]);
        } finally {
          watch.close();
        }
      }
    });

    it('sends only the watched namespace', async () => {
      const watch = await openWatch(api, '?namespace=shop');
      try {
        const snapshot = await watch.next((m) => m.event === 'snapshot', 'snapshot');
        assert.deepEqual((snapshot.data as DashboardSnapshot).replicas, []);
        await api.addReplica('web-ddddd', { service: 'web', image: 'busybox' });
        await api.store.create({ ...replica('shop', 'cart-aaaaa'), apiVersion: API_VERSION });
        await watch.next(upserted('cart-aaaaa'), 'with cart-aaaaa');
        assert.equal(watch.messages.some(upserted('web-ddddd')), false, 'a replica of namespace default was sent to a watch of shop');
      } finally {
        watch.close();
      }
    });

    it('batches: 100 replicas written at once arrive in one message, not 100', async () => {
      const watch = await openWatch(api);
      try {
        await watch.next((m) => m.event === 'snapshot', 'snapshot');
        const names = Array.from({ length: 100 }, (_, i) => `batch-${String(i).padStart(3, '0')}`);
        // One etcd transaction: one revision, which the cache applies in one go.
        await api.etcd.if('/tide/v1/none', 'Version', '==', 0)
          .then(...names.map((name) => api.etcd.put(objectKey('Replica', 'default', name)).value(encodeObject(replica('default', name)))))
          .commit();
        const message = await watch.next(upserted('batch-000'), 'with the batch');
        const batch = (message.data as DashboardChanges).replicas.upsert.map((r) => r.name).filter((name) => name.startsWith('batch-'));
        assert.deepEqual(batch.sort(), names);
        assert.equal(watch.messages.filter((m) => m.event === 'changes' && m.data.replicas.upsert.some((r) => r.name.startsWith('batch-'))).length, 1);
      } finally {
        watch.close();
      }
    });

    it('holds changes back while the client cannot keep up, then sends them in one message', async () => {
      const written: string[] = [];
      let full = true;
      let drained: (() => void) | undefined;
      const stream = new DashboardStream(api.cache, {
        write: (chunk) => written.push(chunk) > 0 && !full,
        onDrain: (callback) => (drained = callback),
      }, { namespace: 'default', subject: 'test', may: { scale: false, rollback: false, cordon: false, drain: false }, flushMs: 10 });
      try {
        stream.start(); // the snapshot fills the buffer
        assert.equal(written.length, 1);
        await api.addReplica('slow-aaaaa', { service: 'slow', image: 'busybox' });
        await api.addReplica('slow-bbbbb', { service: 'slow', image: 'busybox' });
        await api.cache.fresh();
        await new Promise((resolve) => setTimeout(resolve, 300)); // many flush periods: none may write
        assert.equal(written.length, 1, 'written while the socket was full');
        full = false;
        drained!();
        const deadline = Date.now() + 30_000;
        while (written.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(written.length, 2);
        const changes = JSON.parse(/^data: (.*)$/m.exec(written[1])![1]) as DashboardChanges;
        assert.deepEqual(changes.replicas.upsert.map((r) => r.name).sort(), ['slow-aaaaa', 'slow-bbbbb']);
      } finally {
        stream.stop();
      }
    });
  });

  describe('/api/v1/services/NAME/history', () => {
    it('keeps the service\'s numbers as they change, for any role that may read it; 404 for an unknown one', async () => {
      await api.store.create({ apiVersion: API_VERSION, kind: 'Service', metadata: { name: 'shop', namespace: 'default' }, spec: { replicas: 2, image: 'busybox' } } as Service);
      const history = async (token?: string) => {
        const response = await api.fetch('/api/v1/services/shop/history', token ? { token } : {});
        assert.equal(response.status, 200);
        return ((await response.json()) as { points: HistoryPoint[] }).points;
      };
      const deadline = Date.now() + 30_000;
      while ((await history()).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await history())[0].desired, 2);
      assert.equal((await api.fetch('/api/v1/services/shop/scale', { method: 'PUT', body: JSON.stringify({ replicas: 4 }), headers: { 'content-type': 'application/json' } })).status, 200);
      while ((await history()).at(-1)?.desired !== 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      // node-1's balancer answered 100 requests of shop in a second, 10 of them slower than 50 ms:
      // p99 within (0.05, 0.1], 9 of its 10: 50 + 50 * 9/10 = 95 ms.
      const latencyCounts = (fast: number, slow: number) => Object.assign(new Array<number>(15).fill(0), { 4: fast, 7: slow });
      api.usage.record({ ...usageOfNode1(5000, 20), services: [{ namespace: 'default', service: 'shop', requestsTotal: 0, latencyCounts: latencyCounts(0, 0) }] });
      api.usage.record({ ...usageOfNode1(6000, 20), services: [{ namespace: 'default', service: 'shop', requestsTotal: 100, latencyCounts: latencyCounts(90, 10) }] });
      assert.equal((await api.fetch('/api/v1/services/shop/scale', { method: 'PUT', body: JSON.stringify({ replicas: 5 }), headers: { 'content-type': 'application/json' } })).status, 200);
      while ((await history()).at(-1)?.desired !== 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const points = await history(await api.token('view'));
      assert.equal(points.at(-1)?.desired, 5);
      assert.equal(points.at(-1)?.rps, 100);
      assert.ok(Math.abs(points.at(-1)!.p99Ms! - 95) < 1e-6, `p99 ${points.at(-1)?.p99Ms} ms`);
      assert.ok(points.every((point, i) => i === 0 || point.t > points[i - 1].t), 'points are in time order');
      const unknown = await api.fetch('/api/v1/services/nope/history');
      assert.equal(unknown.status, 404);
    });
  });
});

function replica(namespace: string, name: string): Replica {
  return {
    apiVersion: API_VERSION, kind: 'Replica', metadata: { name, namespace },
    spec: { service: name.split('-')[0], templateHash: 'abc', template: { image: 'busybox', requests: { cpuMillis: 100, memoryBytes: 2 ** 26 } } },
  } as unknown as Replica;
}
