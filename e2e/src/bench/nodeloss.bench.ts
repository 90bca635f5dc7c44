/**
 * nodeloss benchmark (issue 15): three simulated hosts (`tsctl up --hosts netns`, default settings
 * otherwise), a web service of 6 replicas, 2 on each host (`placement.maxSkew: 1`), open-loop HTTP
 * load at a fixed rate through the published ports of the two hosts that survive, then `tsctl host
 * kill` of the third (a power cut). Measured from the kill:
 *   detected_s          the lost host's Node is NotReady in the API;
 *   replaced_running_s  6 replicas Running again, none on the lost host;
 *   replaced_ready_s    the same, all ready;
 *   failed_requests     requests of the load that failed (error, timeout or a non-200), from the
 *                       start of the load to 5 s after replaced_ready;
 *   stale_copies        replicas of the lost host running 10 s after it came back (Running in the API,
 *                       or their container's process alive).
 * Options: --rate N (requests per second, 50), --base-port P (21070: the cluster's ports from P, the
 * published port P + 9), --cut kill|link (kill: `tsctl host kill`, a power cut, back with `tsctl
 * host start`; link: the host's LAN link down while its agent and containers run on, a partition,
 * then up again), --json.
 */
import { execFileSync } from 'node:child_process';
import type { Node, Replica } from '@tide/api';
import { TestCluster, isAlive, running, simulatedHostLink, waitFor } from '../harness';
import { OpenLoopLoad } from './open-loop.load';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const BASE = option('base-port', 21070);
const PUBLISH = BASE + 9;

const MANIFEST = `apiVersion: tide/v1
kind: Service
metadata: { name: web }
spec:
  replicas: 6
  image: busybox
  command: ["sh", "-c", "mkdir /www; hostname > /www/index.html; httpd -f -p 8080 -h /www"]
  resources: { requests: { cpu: 50m, memory: 16Mi } }
  ports:
    - { name: http, containerPort: 8080, publish: ${PUBLISH}, protocol: HTTP }
  probes:
    readiness: { httpGet: { path: /, port: 8080 }, periodSeconds: 1 }
  placement: { maxSkew: 1 }
  terminationGracePeriodSeconds: 1
`;

async function web(cluster: TestCluster): Promise<Replica[]> {
  return cluster.replicas('web');
}

type Cut = 'kill' | 'link';

/** Cuts the host off: a power cut (`tsctl host kill`) or a partition (its LAN link down). */
async function cutOff(cluster: TestCluster, host: Node, cut: Cut): Promise<string> {
  if (cut === 'link') {
    execFileSync('ip', ['link', 'set', simulatedHostLink(cluster.stateDir, host), 'down']);
    return `host ${host.metadata.name}: its LAN link is down`;
  }
  const killed = await cluster.tsctl(['host', 'kill', host.metadata.name, '--state-dir', cluster.stateDir]);
  if (killed.code !== 0) throw new Error(`tsctl host kill failed: ${killed.stderr}`);
  return killed.stdout.trim();
}

async function bringBack(cluster: TestCluster, host: Node, cut: Cut): Promise<void> {
  if (cut === 'link') return void execFileSync('ip', ['link', 'set', simulatedHostLink(cluster.stateDir, host), 'up']);
  const started = await cluster.tsctl(['host', 'start', host.metadata.name, '--state-dir', cluster.stateDir]);
  if (started.code !== 0) throw new Error(`tsctl host start failed: ${started.stderr}`);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const rate = option('rate', 50);
  const cutIndex = process.argv.indexOf('--cut');
  const cut: Cut = cutIndex >= 0 && process.argv[cutIndex + 1] === 'link' ? 'link' : 'kill';
  const log = (line: string) => !json && console.log(line);
  const cluster = await TestCluster.start({ nodes: 3, basePort: BASE, upFlags: ['--hosts', 'netns', '--host-cidr', '198.18.71.0/24', '--pod-cidr', '100.64.192.0/18'] });
  try {
    if ((await cluster.apply(MANIFEST)).code !== 0) throw new Error('tsctl apply failed');
    const placed = await waitFor('6 ready replicas, 2 per host', async () => {
      const list = running(await web(cluster)).filter((r) => r.status?.ready);
      const perNode = new Map<string, number>();
      for (const r of list) perNode.set(r.spec.nodeName!, (perNode.get(r.spec.nodeName!) ?? 0) + 1);
      return list.length === 6 && perNode.size === 3 ? list : undefined;
    }, 180_000);
    const nodes = await cluster.nodeList();
    const lost = nodes.find((n) => n.metadata.name === 'node-3')!;
    const survivors = nodes.filter((n) => n !== lost).map((n) => `${n.spec.address}:${PUBLISH}`);
    const lostReplicas = placed.filter((r) => r.spec.nodeName === lost.metadata.name).map((r) => r.metadata.name);
    const lostPids = placed.filter((r) => r.spec.nodeName === lost.metadata.name).map((r) => r.status!.pid!);
    const load = new OpenLoopLoad(survivors, rate);
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const cutAt = performance.now();
    log(await cutOff(cluster, lost, cut));
    const since = () => (performance.now() - cutAt) / 1000;
    let detected = 0;
    let replacedRunning = 0;
    await waitFor('6 ready replicas off the lost host', async () => {
      const node = (await cluster.nodeList()).find((n) => n.metadata.name === lost.metadata.name);
      if (!detected && node?.status?.ready === false) detected = since();
      const elsewhere = running(await web(cluster)).filter((r) => r.spec.nodeName !== lost.metadata.name);
      if (!replacedRunning && elsewhere.length === 6) replacedRunning = since();
      return elsewhere.length === 6 && elsewhere.every((r) => r.status?.ready) ? true : undefined;
    }, 300_000, 100);
    const replacedReady = since();
    log(`detected ${detected.toFixed(1)} s, replaced running ${replacedRunning.toFixed(1)} s, ready ${replacedReady.toFixed(1)} s`);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await load.stop();
    await bringBack(cluster, lost, cut);
    await waitFor(`${lost.metadata.name} Ready again`, async () => (await cluster.nodeList()).find((n) => n.metadata.name === lost.metadata.name)?.status?.ready, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const inApi = running(await web(cluster)).filter((r) => lostReplicas.includes(r.metadata.name)).map((r) => r.metadata.name);
    const asProcess = lostReplicas.filter((_, i) => isAlive(lostPids[i]));
    const stale = new Set([...inApi, ...asProcess]);
    const result = {
      benchmark: 'nodeloss', cut, hosts: 3, replicas: 6, rate_per_s: rate,
      detected_s: Number(detected.toFixed(2)), replaced_running_s: Number(replacedRunning.toFixed(2)), replaced_ready_s: Number(replacedReady.toFixed(2)),
      requests: load.sent, failed_requests: load.failed, failures: load.failures, stale_copies: stale.size,
    };
    console.log(json ? JSON.stringify(result) : result);
  } finally {
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
