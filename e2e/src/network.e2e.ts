/**
 * Issue 3 acceptance, bridge networking: a two-node cluster on this machine, each node with its
 * slice of the container network; replicas reach each other by address across nodes, and the host
 * reaches a published port on each node's address, balanced over the replicas of both nodes. All traffic stays on this machine: loopback,
 * the nodes' bridges and the replicas' namespaces.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Node, Replica } from '@tide/api';
import { TestCluster, running, shellService, waitFor } from './harness';
import { get as getOnce } from './load.client';

const BASE = 18270;
const POD_CIDR = '100.64.72.0/22'; // four /24 slices, apart from the default 100.64.0.0/16's first ones
const PUBLISHED = BASE + 20;

/** The /24 containing an address, as the nodes' slices are written. */
const sliceOf = (ip: string) => `${ip.split('.').slice(0, 3).join('.')}.0/24`;

async function get(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) }); // ends a hung request only
  return (await response.text()).trim();
}

/** What is left on the machine of this cluster's container network. */
function leftovers(): string[] {
  // 100.64.72.0 - 100.64.75.255 only: other files' clusters (isolation's 100.64.76.0/22) may be up meanwhile.
  const ours = / 100\.64\.7[2-5]\.\d/;
  const addresses = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).split('\n').filter((l) => ours.test(l));
  const rules = execFileSync('iptables-save', [], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(POD_CIDR) || ours.test(l));
  return [...addresses, ...rules];
}

describe('bridge networking across two nodes', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let nodes: Node[];
  let web: Replica[];

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    nodes = await cluster.nodeList();
  });

  after(async () => {
    await cluster?.stop();
    assert.deepEqual(leftovers(), [], 'tsctl down removes the bridges and their rules');
  });

  it('gives each node its own /24 of --pod-cidr, shown by get nodes -o wide', async () => {
    const slices = nodes.map((n) => n.spec.podCIDR);
    assert.deepEqual([...slices].sort(), ['100.64.72.0/24', '100.64.73.0/24']);
    const wide = await cluster.tsctl(['get', 'nodes', '-o', 'wide']);
    for (const slice of slices) assert.match(wide.stdout, new RegExp(slice!.replace(/\./g, '\\.')));
  });

  it('runs bridge replicas with addresses of their node\'s slice', async () => {
    // Each web replica asks for 60% of a node's CPU, so there is one per node.
    const cpu = `${Math.floor(nodes[0].status!.allocatable.cpu * 0.6)}m`;
    const script = 'mkdir /www; hostname > /www/index.html; httpd -f -p 8080 -h /www';
    const ports = `  ports:\n    - containerPort: 8080\n      publish: ${PUBLISHED}\n`;
    const applied = await cluster.apply(shellService('web', 2, script, `cpu: ${cpu}, memory: 16Mi`, ports));
    assert.equal(applied.code, 0, applied.stderr);
    web = await waitFor('2 running web replicas with addresses', async () => {
      const list = running(await cluster.replicas('web')).filter((r) => r.status?.ip);
      return list.length === 2 ? list : undefined;
    }, 60_000);
    assert.equal(new Set(web.map((r) => r.spec.nodeName)).size, 2, 'one per node');
    for (const replica of web) {
      const node = nodes.find((n) => n.metadata.name === replica.spec.nodeName)!;
      assert.equal(sliceOf(replica.status!.ip!), node.spec.podCIDR, `${replica.metadata.name} on ${node.metadata.name}`);
    }
    const wide = await cluster.tsctl(['get', 'replicas', '-o', 'wide']);
    for (const replica of web) assert.match(wide.stdout, new RegExp(`${replica.metadata.name}.*${replica.status!.ip!.replace(/\./g, '\\.')}`));
  });

  it('lets replicas reach each other by address across nodes', async () => {
    // One probe per node (each asks for 60% of a node's memory); each fetches from both web replicas,
    // one of them on the other node.
    const memory = `${Math.floor(nodes[0].status!.allocatable.memory * 0.6)}`;
    const urls = web.map((r) => `http://${r.status!.ip}:8080/`).join(' ');
    const script = `for url in ${urls}; do for i in $(seq 300); do wget -q -O - $url && break; sleep 0.2; done; done; echo PROBE-DONE; sleep 3600`;
    const applied = await cluster.apply(shellService('probe', 2, script, `cpu: 10m, memory: ${memory}`));
    assert.equal(applied.code, 0, applied.stderr);
    const probes = await waitFor('2 running probes', async () => {
      const list = running(await cluster.replicas('probe'));
      return list.length === 2 ? list : undefined;
    }, 60_000);
    assert.equal(new Set(probes.map((r) => r.spec.nodeName)).size, 2, 'one probe per node');
    for (const probe of probes) {
      const log = await waitFor(`the answers in ${probe.metadata.name}'s log`, async () => {
        const out = await cluster.tsctl(['logs', probe.metadata.name]);
        return out.stdout.includes('PROBE-DONE') ? out.stdout : undefined;
      }, 60_000);
      for (const replica of web) assert.match(log, new RegExp(`^${replica.metadata.name}$`, 'm'), `${probe.metadata.name} (${probe.spec.nodeName}) reached ${replica.metadata.name} (${replica.spec.nodeName}):\n${log}`);
    }
  });

  it('lets the host reach a replica by address, and the published port on each node\'s address reaches the replicas of both nodes', async () => {
    for (const replica of web) assert.equal(await get(`http://${replica.status!.ip}:8080/`), replica.metadata.name);
    for (const node of nodes) {
      // TCP (the default protocol): each new connection goes to one replica, the less busy of two.
      const names = await waitFor(`both replicas through ${node.spec.address}:${PUBLISHED}`, async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) seen.add((await getOnce(node.spec.address, PUBLISHED)).body);
        return seen.size === 2 ? seen : undefined;
      });
      assert.deepEqual([...names].sort(), web.map((r) => r.metadata.name).sort(), `${node.metadata.name} balances over both nodes`);
    }
  });

  it('closes connections while no replica is ready, and stops publishing the port when the service is deleted', async () => {
    const scaled = await cluster.tsctl(['scale', 'service', 'web', '--replicas', '0']);
    assert.equal(scaled.code, 0, scaled.stderr);
    for (const node of nodes) {
      await waitFor(`connections to ${node.spec.address}:${PUBLISHED} closed unanswered`, async () => {
        const answer = await getOnce(node.spec.address, PUBLISHED);
        return answer.status === 0 && /socket hang up|ECONNRESET/.test(answer.error ?? '');
      }, 90_000);
    }
    const deleted = await cluster.tsctl(['delete', 'service', 'web']);
    assert.equal(deleted.code, 0, deleted.stderr);
    for (const node of nodes) {
      await waitFor(`port ${PUBLISHED} closed on ${node.spec.address}`, async () => /ECONNREFUSED/.test((await getOnce(node.spec.address, PUBLISHED)).error ?? ''), 90_000);
    }
  });
});
