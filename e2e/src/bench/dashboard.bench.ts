/**
 * dashboard benchmark (issue 20): a real control plane (its own process and etcd) with N hollow
 * nodes (hollow.agent.ts) running M replicas, and the dashboard in Debian's Chromium, headless
 * (playwright-core). Measured:
 * - `first_usable_ms`: from the sign-in click to the Cluster view showing every node's bin and the
 *   count of every replica (whoami, the watch stream's snapshot, parsing, drawing), with its parts
 *   (`snapshot_received_ms`, `_loaded_ms`, `_drawn_ms` after the click: the page's User Timing marks);
 * - `event_to_screen_ms_p50`/`_p99`: from sending a cordon (or uncordon) of a node to the API until
 *   that node's bin shows it, over `--events` changes (write, etcd, the cache, one batch, a redraw);
 * - reference in the same run, `list_reference_ms`: fetching the node and replica lists from the API
 *   (what a dashboard that polls whole lists would wait for on each refresh), and `snapshot_bytes`.
 * Options: --nodes N (500) --replicas M (10000) --services S (20) --events E (40) --base-port P
 * (23750: HTTP P, gRPC P+1, etcd P+2/P+3) --timeout SECONDS (600) --json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { Service } from '@tide/api';
import { REPO, waitFor } from '../harness';
import { openUi } from '../dashboard.page';
import { joinAs, type NodeCredentials } from '../node.credentials';
import { HollowNode } from './hollow.agent';
import { ControlPlaneProcess } from './control-plane.process';

const CHROMIUM = '/usr/bin/chromium';
const JOINS_AT_ONCE = 8;
const NODE_CPU = 16_000;
const NODE_MEMORY = 64 * 2 ** 30;

interface Options { nodes: number; replicas: number; services: number; events: number; basePort: number; timeoutMs: number; json: boolean }

function parseOptions(argv: string[]): Options {
  const number = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const value = Number(argv[index + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} wants a positive integer, got "${argv[index + 1]}"`);
    return value;
  };
  return {
    nodes: number('nodes', 500), replicas: number('replicas', 10_000), services: number('services', 20), events: number('events', 40),
    basePort: number('base-port', 23750), timeoutMs: number('timeout', 600) * 1000, json: argv.includes('--json'),
  };
}

/** S services of 100m and 128Mi sharing M replicas: 10,000 fit on 500 nodes of 16 cores with room to spare. */
function services(options: Options): Service[] {
  return Array.from({ length: options.services }, (_, i) => ({
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: `web-${i}`, namespace: 'default' },
    spec: {
      replicas: Math.floor(options.replicas / options.services) + (i < options.replicas % options.services ? 1 : 0),
      image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '100m', memory: '128Mi' } },
    },
  }) as Service);
}

async function startNodes(options: Options, cp: ControlPlaneProcess, agents: HollowNode[]): Promise<string[]> {
  const join = await cp.api<{ token: string }>('/api/v1/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'join', uses: options.nodes }) });
  const caPem = fs.readFileSync(path.join(cp.dir, 'pki', 'ca.crt'), 'utf8');
  const names = Array.from({ length: options.nodes }, (_, i) => `hollow-${String(i).padStart(4, '0')}`);
  const credentials: NodeCredentials[] = [];
  for (let i = 0; i < names.length; i += JOINS_AT_ONCE) {
    credentials.push(...await Promise.all(names.slice(i, i + JOINS_AT_ONCE).map((name) => joinAs(cp.server, caPem, join.token, name))));
  }
  names.forEach((name, i) => agents.push(new HollowNode({
    name, credentials: credentials[i], address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, controlPlane: `127.0.0.1:${options.basePort + 1}`,
    cpuMillis: NODE_CPU, memoryBytes: NODE_MEMORY, images: ['busybox:latest'], onAssigned: () => undefined,
  })));
  await Promise.all(agents.map((agent) => agent.start()));
  await waitFor('every node Ready', async () => (await cp.api<{ items: { status?: { ready: boolean } }[] }>('/api/v1/nodes')).items.filter((n) => n.status?.ready).length === options.nodes, 120_000, 500);
  return names;
}

/** The first view's parts, from the page's User Timing marks (watch.client.ts), in ms after the click. */
interface FirstView { usable: number; snapshotReceived: number; snapshotLoaded: number; snapshotDrawn: number }

/** Signs in; answers the milliseconds until every bin and the replica count are on the screen, and the parts. */
async function firstUsable(page: Page, server: string, token: string, options: Options): Promise<FirstView> {
  // Before the timed part, which starts at the click on Sign in.
  await openUi(page, server);
  await page.getByLabel('Token').fill(token);
  const clickedAt = await page.evaluate(() => performance.now());
  const started = performance.now();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(({ nodes, replicas }) => {
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { textContent: string } | null } }).document;
    return doc.querySelectorAll('.bin').length === nodes && (doc.querySelector('.summary')?.textContent ?? '').includes(`${replicas} replicas`);
  }, { nodes: options.nodes, replicas: options.replicas }, { polling: 'raf', timeout: options.timeoutMs });
  const usable = performance.now() - started;
  const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((mark) => [mark.name, mark.startTime])));
  const since = (name: string) => Math.round((marks[name] ?? Number.NaN) - clickedAt);
  return { usable, snapshotReceived: since('tide:snapshot-received'), snapshotLoaded: since('tide:snapshot-loaded'), snapshotDrawn: since('tide:snapshot-drawn') };
}

/** Cordons (then uncordons) nodes through the API; each time, the milliseconds until the bin shows it. */
async function eventToScreen(page: Page, cp: ControlPlaneProcess, names: string[], options: Options): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < options.events; i++) {
    const node = names[(i * 7919) % names.length];
    const cordon = i % 2 === 0;
    const started = performance.now();
    await cp.api(`/api/v1/nodes/${node}/${cordon ? 'cordon' : 'uncordon'}`, { method: 'POST' });
    await page.waitForFunction(({ node, cordon }) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { classList: { contains(c: string): boolean } } | null } }).document;
      return doc.querySelector(`[data-node="${node}"]`)?.classList.contains('cordoned') === cordon;
    }, { node, cordon }, { polling: 'raf', timeout: 30_000 });
    times.push(performance.now() - started);
    if (!cordon) continue;
    // Uncordon the same node next, so the cluster ends as it began.
    const back = performance.now();
    await cp.api(`/api/v1/nodes/${node}/uncordon`, { method: 'POST' });
    await page.waitForFunction((name) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { classList: { contains(c: string): boolean } } | null } }).document;
      return doc.querySelector(`[data-node="${name}"]`)?.classList.contains('cordoned') === false;
    }, node, { polling: 'raf', timeout: 30_000 });
    times.push(performance.now() - back);
    i++;
  }
  return times.sort((a, b) => a - b);
}

async function listReference(cp: ControlPlaneProcess): Promise<{ ms: number }> {
  const started = performance.now();
  await Promise.all([cp.api('/api/v1/nodes'), cp.api('/api/v1/replicas?namespace=all'), cp.api('/api/v1/services?namespace=all')]);
  return { ms: performance.now() - started };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function run(options: Options, cp: ControlPlaneProcess, agents: HollowNode[], pages: { close(): Promise<void> }[]): Promise<Record<string, unknown>> {
  cp.start();
  await waitFor('the control plane', () => cp.api('/healthz').then(() => true), 30_000, 100);
  const names = await startNodes(options, cp, agents);
  await cp.api('/api/v1/apply', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ documents: services(options) }) });
  const running = async () => (await cp.api<{ items: Service[] }>('/api/v1/services')).items.reduce((sum, s) => sum + (s.status?.runningReplicas ?? 0), 0);
  await waitFor('every replica Running', async () => (await running()) === options.replicas, options.timeoutMs, 500);
  const { token } = await cp.api<{ token: string }>('/api/v1/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'admin' }) });
  const reference = await listReference(cp);
  const snapshot = await cp.fetch('/api/v1/watch?namespace=all');
  const reader = snapshot.body!.getReader();
  let snapshotBytes = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    snapshotBytes += chunk.value.length;
    if (new TextDecoder().decode(chunk.value.subarray(-2)) === '\n\n') break;
  }
  await reader.cancel();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  pages.push(browser);
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } })).newPage();
  const usable = await firstUsable(page, cp.server, token, options);
  const events = await eventToScreen(page, cp, names, options);
  return {
    benchmark: 'dashboard', nodes: options.nodes, replicas: options.replicas, events: events.length,
    first_usable_ms: Math.round(usable.usable),
    // Its parts, after the click: the snapshot parsed in, indexed, drawn (the rest is layout and paint).
    snapshot_received_ms: usable.snapshotReceived, snapshot_loaded_ms: usable.snapshotLoaded, snapshot_drawn_ms: usable.snapshotDrawn,
    event_to_screen_ms_p50: Math.round(percentile(events, 50)),
    event_to_screen_ms_p99: Math.round(percentile(events, 99)),
    list_reference_ms: Math.round(reference.ms),
    snapshot_bytes: snapshotBytes,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: "bash scripts/setup.sh" installs Debian's chromium`);
  const podCidr = `100.64.0.0/${Math.max(10, Math.min(16, 24 - Math.ceil(Math.log2(options.nodes))))}`;
  const cp = new ControlPlaneProcess(options.basePort, path.join(REPO, 'apps/control-plane/dist/main.js'),
    ['--id', 'dashboard-bench', '--node-lease-seconds', '30', '--pod-cidr', podCidr, '--node-cidr-mask-size', '24'], 'tide-dashboard-bench-');
  const agents: HollowNode[] = [];
  const browsers: { close(): Promise<void> }[] = [];
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void Promise.all(browsers.map((b) => b.close().catch(() => undefined))).then(() => cp.stop()).finally(() => process.exit(130)));
  }
  try {
    const result = await run(options, cp, agents, browsers);
    console.log(options.json ? JSON.stringify(result) : result);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ncontrol plane log:\n${cp.logTail()}`);
  } finally {
    await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
    for (const agent of agents) agent.close();
    await cp.stop();
  }
}

main().catch((error) => {
  console.error(`dashboard: ${(error as Error).message}`);
  process.exit(1);
});
