/**
 * Issue 7 acceptance: a real Prometheus server, configured from manifests/prometheus/prometheus.yml,
 * scrapes a running Tide cluster. Every node's agent is found through the control plane's http_sd
 * and is up; a busy replica's container_cpu_usage_seconds_total grows between scrapes; a node that
 * joins the running cluster is scraped with no change to the configuration; `promtool check metrics`
 * accepts every Tide metrics endpoint; `tsctl top` and `tsctl get events --watch` work on the cluster.
 * Everything stays on loopback; Prometheus and the cluster are stopped and removed afterwards.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node } from '@tide/api';
import { REPO, TestCluster, running, waitFor } from './harness';
import { PrometheusServer, configFor, promtoolProblems } from './prometheus.server';

const BASE = 19670; // API; gRPC +1, etcd +2/+3, agents +11.., Prometheus +30
const POD_CIDR = '100.64.32.0/20'; // the scrape benchmark uses 100.64.48.0/20
const PROMETHEUS = `127.0.0.1:${BASE + 30}`;

/** node_exporter's own memory names (node_memory_MemAvailable_bytes ...) are camelCase: promtool's
 *  lint says so for node_exporter too. Dashboards need those names, so that one lint is accepted for them. */
const NODE_EXPORTER_NAMES = /^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$/;

const BUSY = `apiVersion: tide/v1
kind: Service
metadata:
  name: busy
spec:
  replicas: 1
  image: busybox
  command: ["sh", "-c", "while :; do :; done"]
  resources:
    requests: { cpu: 50m, memory: 16Mi }
    limits: { cpu: 100m, memory: 32Mi }
  terminationGracePeriodSeconds: 1
`;

describe('Prometheus scrapes a Tide cluster', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let prometheus: PrometheusServer | undefined;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    const applied = await cluster.apply(BUSY);
    assert.equal(applied.code, 0, applied.stderr);
    // Prometheus reads a view token from a file and trusts the cluster CA, as the example says.
    const tokenFile = path.join(cluster.stateDir, 'prometheus.token');
    fs.writeFileSync(tokenFile, `${await cluster.token('view')}\n`, { mode: 0o600 });
    prometheus = await PrometheusServer.start(PROMETHEUS, configFor(`127.0.0.1:${BASE}`, '1s', { caFile: path.join(cluster.stateDir, 'pki', 'ca.crt'), tokenFile }));
  });

  after(async () => {
    await prometheus?.stop();
    await cluster?.stop();
  });

  const upByNode = async () => new Map((await prometheus!.query('up{job="tide-agents"}')).map((s) => [s.metric.instance, s.value[1]]));

  it('is refused by every metrics endpoint without credentials (401)', async () => {
    assert.equal((await cluster.fetch('/metrics', { token: null })).status, 401);
    for (const node of await cluster.nodeList()) {
      const response = await cluster.agentFetch(node, '/metrics', { as: 'nobody' });
      assert.equal(response.status, 401, node.metadata.name);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="tide"');
    }
  });

  it('finds every node through service discovery and scrapes it', async () => {
    await waitFor('both agents up in Prometheus', async () => {
      const up = await upByNode();
      return up.get('node-1') === '1' && up.get('node-2') === '1';
    }, 60_000, 250);
    const targets = (await prometheus!.targets()).filter((t) => t.scrapePool === 'tide-agents');
    assert.deepEqual(targets.map((t) => t.discoveredLabels.__meta_tide_node_name).sort(), ['node-1', 'node-2']);
    assert.deepEqual(targets.map((t) => t.discoveredLabels.__address__).sort(), [`127.0.1.1:${BASE + 11}`, `127.0.1.2:${BASE + 12}`]);
    const controlPlane = await prometheus!.query('tide_leader{job="tide-control-plane"}');
    assert.deepEqual(controlPlane.map((s) => s.value[1]), ['1'], 'the static job scrapes the (only, leading) control plane');
  });

  it('sees the busy replica\'s CPU counter grow between two scrapes', async () => {
    const query = 'container_cpu_usage_seconds_total{service="busy"}';
    const first = await waitFor('a sample of the busy replica', async () => (await prometheus!.query(query))[0], 60_000, 250);
    assert.equal(first.metric.namespace, 'default');
    assert.match(first.metric.replica, /^busy-/);
    assert.match(first.metric.node, /^node-[12]$/);
    const later = await waitFor('a later scrape', async () => {
      const sample = (await prometheus!.query(query))[0];
      return sample && sample.value[0] >= first.value[0] + 2 ? sample : undefined;
    }, 60_000, 250);
    assert.ok(Number(later.value[1]) > Number(first.value[1]), `${first.value[1]} → ${later.value[1]} cpu-seconds`);
    const limit = await prometheus!.query('container_spec_memory_limit_bytes{service="busy"}');
    assert.equal(limit[0]?.value[1], String(32 * 2 ** 20));
  });

  it('shows the busy replica in tsctl top against its request and limit', async () => {
    const row = await waitFor('a CPU figure for the busy replica', async () => {
      const top = await cluster.tsctl(['top', 'replicas']);
      const line = top.stdout.split('\n').find((l) => l.startsWith('busy-'));
      return line && !line.includes('<unknown>') ? line.split(/\s{3,}/) : undefined;
    }, 60_000, 500);
    // The loop is held to its 100m limit: it uses some CPU (how much depends on how busy the machine
    // is), never more than the quota allows (with slack for sampling).
    const millicores = Number(row[2].replace(/m$/, ''));
    assert.ok(millicores > 0 && millicores <= 150, `busy uses ${row[2]}`);
    assert.deepEqual(row.slice(3, 5), ['50m', '100m']);
    const nodes = await cluster.tsctl(['top', 'nodes']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /^node-[12]\s+\d+m\s+\d+%/m);
  });

  it('streams new events to tsctl get events --watch', async () => {
    const watcher = spawn(process.execPath, [path.join(REPO, 'apps/tsctl/dist/main.js'), '--server', cluster.server, 'get', 'events', '--watch'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TIDE_CONFIG: cluster.configFile } });
    let output = '';
    watcher.stdout.on('data', (chunk) => (output += chunk));
    try {
      await waitFor('the watch to print what was recorded', async () => output.includes('Scheduled'), 60_000, 100);
      const before = output.split('\n').filter((l) => l.includes('Scheduled')).length;
      assert.equal((await cluster.tsctl(['scale', 'service', 'busy', '--replicas', '2'])).code, 0);
      await waitFor('a new Scheduled event', async () => output.split('\n').filter((l) => l.includes('Scheduled')).length > before, 60_000, 100);
    } finally {
      watcher.kill('SIGKILL');
    }
  });

  it('scrapes a node that joins the running cluster without a configuration change', async () => {
    const up = await cluster.tsctl(['up', '--nodes', '3', '--state-dir', cluster.stateDir, '--base-port', String(BASE)], { timeoutMs: 120_000 });
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    await waitFor('node-3 up in Prometheus', async () => (await upByNode()).get('node-3') === '1', 60_000, 250);
    const nodes = await cluster.nodeList();
    assert.deepEqual(nodes.map((n: Node) => n.metadata.name).sort(), ['node-1', 'node-2', 'node-3']);
    const memory = await prometheus!.query('node_memory_MemTotal_bytes{instance="node-3"}');
    assert.ok(Number(memory[0]?.value[1]) > 0, 'node_exporter names from the new node');
  });

  it('passes promtool check metrics on every agent and the control plane', async () => {
    await waitFor('a running busy replica', async () => running(await cluster.replicas('busy')).length > 0);
    const nodes = await cluster.nodeList();
    const endpoints = [`${cluster.server}/metrics`, ...nodes.map((n) => `https://${n.spec.address}:${n.spec.agentPort}/metrics`)];
    assert.equal(endpoints.length, 4);
    const view = await cluster.token('view');
    for (const [i, endpoint] of endpoints.entries()) {
      // Every endpoint needs a token (a view token, as Prometheus has) and trusts only the cluster CA.
      const response = i === 0 ? await cluster.fetch('/metrics', { token: view }) : await cluster.agentFetch(nodes[i - 1], '/metrics', { token: view });
      assert.equal(response.status, 200, endpoint);
      const text = await response.text();
      assert.ok(text.includes('# TYPE'), `${endpoint} serves metrics`);
      const problems = promtoolProblems(text).filter((line) => !NODE_EXPORTER_NAMES.test(line));
      assert.deepEqual(problems, [], `promtool on ${endpoint}`);
    }
  });
});
