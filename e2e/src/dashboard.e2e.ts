/**
 * Issue 20 acceptance, the dashboard in a real browser: Debian's Chromium, headless, driven by
 * playwright-core, against a `tsctl up` cluster. Signed in with the admin token, the page shows the
 * nodes and a service with its ready count; cordon and uncordon from the page mark the node; scaling
 * the service from the page changes the count without a reload; the events stream in, filter, and
 * stream again after every connection to the API is cut;
 * a view token's page offers no action and the API refuses its scale (403); axe-core finds no
 * serious or critical accessibility violation. Also: each node bin shows the CPU its replicas used;
 * the service page's chart holds a p99 latency series once a published service has had traffic; a
 * focused button keeps the focus when a live update redraws its bin; a drain started from the page
 * shows its progress until the node is empty. Screenshots of the cluster and services pages go to
 * this run's temporary directory, or to docs/ (the README shows them) when asked:
 * `TIDE_SCREENSHOTS=docs node scripts/run-tests.js e2e/dist/dashboard.e2e.js`. A suite run leaves the
 * checkout as it found it.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Service } from '@tide/api';
import { REPO, TestCluster, sleeperService, waitFor } from './harness';
import { LoadGenerator } from './load.client';
import { openUi } from './dashboard.page';

const BASE = 23700;
const POD_CIDR = '100.64.232.0/22';
const CHROMIUM = '/usr/bin/chromium';
/** Generous: a loaded machine renders slowly; a test that fails waits this long once. */
const UI_TIMEOUT_MS = 60_000;
/** The published port of `shop`, the service with traffic (within this file's ports). */
const SHOP_PORT = BASE + 40;
/** Where the screenshots go (see the header). */
const SCREENSHOTS = process.env.TIDE_SCREENSHOTS ? path.resolve(REPO, process.env.TIDE_SCREENSHOTS) : os.tmpdir();

/** Answers after 5 ms, so its p99 is a few milliseconds, not the balancer's own microseconds. */
const SHOP_SERVER = `
const http = require('http');
http.createServer((req, res) => setTimeout(() => res.end('ok'), 5)).listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

const SHOP = `apiVersion: tide/v1
kind: Service
metadata: { name: shop }
spec:
  replicas: 1
  image: node
  command: ${JSON.stringify(['node', '-e', SHOP_SERVER])}
  resources: { requests: { cpu: 20m, memory: 32Mi } }
  terminationGracePeriodSeconds: 1
  ports:
    - { containerPort: 8080, publish: ${SHOP_PORT}, protocol: HTTP }
  probes:
    readiness: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
`;

interface AxeViolation { id: string; impact?: string | null; help: string; nodes: { target: unknown[] }[] }

describe('dashboard (issue 20)', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let browser: Browser | undefined;

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: "bash scripts/setup.sh" installs Debian's chromium`);
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    const applied = await cluster.apply(sleeperService('web', { replicas: 2, cpu: '100m', memory: '32Mi' }));
    assert.equal(applied.code, 0, applied.stderr);
    await readyReplicas(cluster, 2);
    // --no-sandbox: the suite runs as root, where Chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await cluster?.stop();
  });

  /** A page in a fresh browser context (nothing shared with another test's session), signed in with `token`. */
  async function signedIn(token: string): Promise<Page> {
    // The cluster's CA is its own: the browser is not told to trust it, so certificate errors are
    // ignored for this context only (the test checks the page, the API specs check TLS).
    const context = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await openUi(page, cluster.server);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Cluster' }).waitFor();
    return page;
  }

  it('refuses a wrong token on the sign-in form, saying so', async () => {
    const page = await (await browser!.newContext({ ignoreHTTPSErrors: true })).newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await openUi(page, cluster.server);
    await page.getByLabel('Token').fill('tide_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The token was refused' }).waitFor();
    await assertAccessible(page, 'sign-in');
    await page.context().close();
  });

  it('admin: nodes and the service with its ready count; scaling from the page updates it live', async () => {
    const page = await signedIn(cluster.adminToken);
    for (const node of await cluster.nodeList()) {
      await page.getByRole('listitem', { name: `node ${node.metadata.name}` }).waitFor();
    }
    // Both replicas of web are blocks in the bins (the title names each one).
    await waitFor('two replica blocks of web', async () => (await page.locator('.block[title*="(web)"]').count()) === 2, UI_TIMEOUT_MS);
    await assertAccessible(page, 'cluster');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-cluster.png') });
    // Cordon from the page: the API marks the node, the bin says so; uncordon undoes it.
    const first = (await cluster.nodeList())[0].metadata.name;
    const bin = page.getByRole('listitem', { name: `node ${first}` });
    await page.getByRole('button', { name: `Cordon ${first}` }).click();
    await bin.getByText('Cordoned').waitFor();
    assert.equal((await cluster.nodeList()).find((n) => n.metadata.name === first)?.spec.cordoned, true);
    await page.getByRole('button', { name: `Uncordon ${first}` }).click();
    await bin.getByText('Cordoned').waitFor({ state: 'detached' });
    assert.equal((await cluster.nodeList()).find((n) => n.metadata.name === first)?.spec.cordoned, false);

    // What the replicas used, from the agents' reports: a number on every bin (a sleeper uses about 0).
    for (const node of await cluster.nodeList()) {
      const used = page.getByRole('listitem', { name: `node ${node.metadata.name}` }).locator('[data-used="cpu"]');
      await waitFor(`CPU used on ${node.metadata.name}`, async () => /^\d+(\.\d+)?m? used$/.test((await used.textContent()) ?? ''), UI_TIMEOUT_MS);
    }
    await keepsFocusThroughUpdates(page, cluster, first);

    await page.getByRole('link', { name: 'Services' }).click();
    const ready = page.locator('tr[data-service="default/web"] td[data-col="ready"]');
    await waitFor('web at 2/2 on the page', async () => (await ready.textContent()) === '2/2', UI_TIMEOUT_MS);
    await assertAccessible(page, 'services');
    // A mark on this document: still there after the scale means the page was not reloaded.
    await page.evaluate(() => Object.assign(globalThis, { tideMark: 'before-scale' }));
    await page.getByLabel('Replicas of web').fill('3');
    await page.getByRole('button', { name: 'Scale web' }).click();
    await waitFor('web at 3/3 on the page', async () => (await ready.textContent()) === '3/3', 180_000);
    assert.equal(await page.evaluate(() => (globalThis as { tideMark?: string }).tideMark), 'before-scale', 'the page was reloaded');
    const web = (await cluster.services()).find((s) => s.metadata.name === 'web')!;
    assert.equal(web.spec.replicas, 3);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-services.png') });
    // The service's own page: its counts, its replicas by node, the autoscaler's part.
    await page.getByRole('link', { name: 'web', exact: true }).click();
    await page.getByRole('heading', { name: 'Service web' }).waitFor();
    await page.locator('.summary', { hasText: '3/3 ready' }).waitFor();
    const byNode = await page.locator('.placement tbody tr td:nth-child(3)').allTextContents();
    assert.equal(byNode.reduce((sum, count) => sum + Number(count), 0), 3, `replicas by node: ${byNode.join(', ')}`);
    await page.getByText('Not autoscaled').waitFor();
    // The last hour's chart: drawn on a canvas, described by its caption (the control plane kept web's points since the apply).
    await page.locator('figure.chart canvas').first().waitFor();
    await page.locator('figure.chart figcaption', { hasText: 'web over the last hour' }).waitFor();
    await assertAccessible(page, 'service');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-service.png') });
    // Events: the recorded ones stream in; the filter narrows them to web's replicas.
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByLabel('Filter').fill('replica default/web-');
    await waitFor('events of web\'s replicas', async () => (await page.locator('table.events tbody tr').count()) > 0, UI_TIMEOUT_MS);
    const objects = await page.locator('table.events tbody tr td:nth-child(3)').allTextContents();
    assert.ok(objects.every((object) => object.startsWith('replica/web-')), `the filter let through ${objects.join(', ')}`);
    await assertAccessible(page, 'events');
    // A stream that breaks is followed again: every connection to the API is cut (as a network
    // change or a control plane restart would cut it), then a replica added afterwards shows up.
    const known = new Set((await cluster.replicas('web')).map((replica) => replica.metadata.name));
    cutConnectionsTo(cluster.server);
    const scaled = await cluster.tsctl(['scale', 'service', 'web', '--replicas', '4']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const added = await waitFor('a fourth replica of web', async () => (await cluster.replicas('web')).find((replica) => !known.has(replica.metadata.name)), 180_000);
    await page.locator('table.events tbody tr td:nth-child(3)', { hasText: `replica/${added.metadata.name}` }).first().waitFor();
    await page.context().close();
  });

  it('service page: the chart holds p99 latency with requests/s once the published service has traffic', async () => {
    const applied = await cluster.apply(SHOP);
    assert.equal(applied.code, 0, applied.stderr);
    const [node] = await cluster.nodeList();
    await waitFor('shop answering on its published port', async () => (await fetch(`http://${node.spec.address}:${SHOP_PORT}/`).then((r) => r.status, () => 0)) === 200, 180_000);
    const load = new LoadGenerator({ targets: [`${node.spec.address}:${SHOP_PORT}`], connections: 1, maxSeconds: 120, maxRequests: 1_000_000 });
    load.start();
    try {
      const page = await signedIn(cluster.adminToken);
      await page.goto(`${cluster.server}/ui/#/services/default/shop`);
      await page.getByRole('heading', { name: 'Service shop' }).waitFor();
      // The control plane samples every 10 s and the page reads the history as often: p99 points come within a few samples.
      const series = page.locator('figure.chart');
      await waitFor('p99 points in the chart\'s data', async () => /(^|,)p99 ms:[1-9]/.test((await series.getAttribute('data-series')) ?? ''), 90_000);
      assert.match((await series.getAttribute('data-series'))!, /(^|,)req\/s:[1-9]/);
      // The replica answers after 5 ms: once the load's own samples are in, the latest p99 says so.
      const latest = page.locator('figure.chart .latest');
      await waitFor('a p99 of at least 5 ms under the load', async () => Number(/p99 (\d+(?:\.\d)?) ms/.exec((await latest.textContent()) ?? '')?.[1] ?? 0) >= 5, 90_000);
      await assertAccessible(page, 'service with traffic');
      await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-service.png') });
      await page.context().close();
    } finally {
      const result = await load.stop();
      assert.ok(result.ok > 0, `no request answered: ${JSON.stringify(result.failures)}`);
    }
  });

  it('view token: no scale button, and the API refuses its scale (403)', async () => {
    const token = await cluster.token('view');
    const page = await signedIn(token);
    await page.getByRole('link', { name: 'Services' }).click();
    await page.locator('tr[data-service="default/web"]').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Scale/ }).count(), 0, 'a view token was offered a scale button');
    assert.equal(await page.getByRole('columnheader', { name: 'Actions' }).count(), 0);
    await page.getByRole('link', { name: 'Cluster' }).click();
    await page.locator('.bin').first().waitFor();
    assert.equal(await page.getByRole('button', { name: /^(Cordon|Uncordon|Drain) / }).count(), 0, 'a view token was offered node actions');
    // What the button would have sent, sent by the page itself with its session's token. Chromium
    // drops a request when the machine's network changes (another test adding a veth), so a send
    // that got no answer at all is sent again, as the dashboard's own client does.
    const status = await page.evaluate(async (bearer) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await fetch('/api/v1/services/web/scale?namespace=default', {
            method: 'PUT', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ replicas: 5 }),
          })).status;
        } catch (error) {
          if (!(error instanceof TypeError) || attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }, token);
    assert.equal(status, 403);
    const web = (await cluster.services()).find((s) => s.metadata.name === 'web')!;
    assert.notEqual(web.spec.replicas, 5);
    await page.context().close();
  });

  it('drain from the page: its progress per node, live, until the node is empty', async () => {
    const replicas = await cluster.replicas();
    const counts = new Map<string, number>();
    for (const replica of replicas) if (replica.spec.nodeName) counts.set(replica.spec.nodeName, (counts.get(replica.spec.nodeName) ?? 0) + 1);
    const [busiest] = [...counts].sort((a, b) => b[1] - a[1])[0];
    const page = await signedIn(cluster.adminToken);
    const line = page.locator(`.drain-progress li[data-drain="${busiest}"]`);
    await page.getByRole('button', { name: `Drain ${busiest}` }).click();
    await line.waitFor();
    const first = (await line.textContent()) ?? '';
    assert.match(first, new RegExp(`^${busiest}: (\\d+ left to move · \\d+ stopping · \\d+ moved|drained)`));
    await line.filter({ hasText: /drained \(\d+ moved\)/ }).waitFor({ timeout: 240_000 });
    await assertAccessible(page, 'cluster with a drain');
    const blocks = page.getByRole('listitem', { name: `node ${busiest}` }).locator('.block');
    await waitFor(`no replica left in the bin of ${busiest}`, async () => (await blocks.count()) === 0, UI_TIMEOUT_MS);
    await page.context().close();
    const uncordoned = await cluster.tsctl(['uncordon', busiest]);
    assert.equal(uncordoned.code, 0, uncordoned.stderr);
  });
});

/**
 * A keyboard user's focus on a node's Cordon button survives the live updates that redraw its bin:
 * cordoned and uncordoned through the API (not the page), the bin is drawn anew each time, and the
 * focus moves to the button in the same place (Uncordon, then Cordon again).
 */
async function keepsFocusThroughUpdates(page: Page, cluster: TestCluster, node: string): Promise<void> {
  const focused = () => page.evaluate(() => {
    const active = (globalThis as unknown as { document: { activeElement: { tagName: string; getAttribute(name: string): string | null } | null } }).document.activeElement;
    return active?.getAttribute('aria-label') ?? active?.tagName;
  });
  await page.getByRole('button', { name: `Cordon ${node}` }).focus();
  assert.equal(await focused(), `Cordon ${node}`);
  const bin = page.getByRole('listitem', { name: `node ${node}` });
  const cordoned = await cluster.tsctl(['cordon', node]);
  assert.equal(cordoned.code, 0, cordoned.stderr);
  await bin.getByText('Cordoned').waitFor();
  assert.equal(await focused(), `Uncordon ${node}`, 'the focus left the redrawn bin');
  const uncordoned = await cluster.tsctl(['uncordon', node]);
  assert.equal(uncordoned.code, 0, uncordoned.stderr);
  await bin.getByText('Cordoned').waitFor({ state: 'detached' });
  assert.equal(await focused(), `Cordon ${node}`, 'the focus left the redrawn bin');
}

describe('dashboard benchmark, small', () => {
  it('reports the first view and the event-to-screen times on hollow nodes, and leaves nothing behind', { timeout: 300_000 }, () => {
    const ours = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('tide-dashboard-bench-'));
    const before = ours();
    const result = spawnSync(process.execPath, [path.join(__dirname, 'bench', 'dashboard.bench.js'), '--json', '--nodes', '10', '--replicas', '100',
      '--events', '4', '--base-port', String(BASE + 50), '--timeout', '240'], { encoding: 'utf8', timeout: 290_000 });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number>;
    assert.equal(report.nodes, 10);
    assert.equal(report.events, 4);
    for (const key of ['first_usable_ms', 'snapshot_drawn_ms', 'event_to_screen_ms_p50', 'event_to_screen_ms_p99', 'list_reference_ms', 'snapshot_bytes']) {
      assert.ok(typeof report[key] === 'number' && report[key] > 0, `${key}: ${report[key]}`);
    }
    assert.deepEqual(ours().filter((dir) => !before.includes(dir)), [], 'the state dir is removed');
  });
});

/** Cuts every open TCP connection to `server` (the kernel destroys the sockets: `ss -K`), as a network change would. */
function cutConnectionsTo(server: string): void {
  const { hostname, port } = new URL(server);
  const cut = spawnSync('ss', ['-K', 'dst', hostname, 'dport', '=', `:${port}`], { encoding: 'utf8' });
  assert.equal(cut.status, 0, `ss -K: ${cut.stderr}`);
  assert.match(cut.stdout, /ESTAB/, `no connection to ${server} was cut`);
}

async function readyReplicas(cluster: TestCluster, count: number): Promise<Service> {
  return waitFor(`web with ${count} ready replicas`, async () => {
    const web = (await cluster.services()).find((s) => s.metadata.name === 'web');
    return web?.status?.readyReplicas === count ? web : undefined;
  }, 180_000);
}

/** axe-core on the page as it is: no violation of serious or critical impact. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const page = globalThis as unknown as { document: unknown; axe: { run(context: unknown, options: object): Promise<{ violations: AxeViolation[] }> } };
    return (await page.axe.run(page.document, { resultTypes: ['violations'] })).violations;
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`), [], `the ${what} page`);
}
