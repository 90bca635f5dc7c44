/**
 * Issue 15, a cluster across hosts, proven with simulated hosts (`tsctl up --hosts netns`): three
 * hosts, each a network namespace with its own address on a test LAN of 198.18.0.0/15, plus the
 * control plane's side of the LAN. A web service with 6 replicas spread over the hosts; from a
 * container on one host, `http://web/` and `http://web.default.svc.tide/` answer from replicas on
 * all three, and every replica answers by its IP across hosts; the published port of each host, and
 * the service IP from each host's own namespace, reach replicas on all hosts. Then `tsctl host kill` ends a host at once and `host start` brings it
 * back; a host cut off from the LAN (its link down, agent and containers alive) stops its own replicas
 * before the control plane gives them up, and runs none of them once its link is back; a host that leaves (`tsctl node delete`) has its routes removed from the others. The same
 * cross-host paths with `--pod-network vxlan`. Nothing is left after `tsctl down`.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Node, Replica } from '@tide/api';
import { TestCluster, isAlive, running, shellService, simulatedHostLink, waitFor } from './harness';

const execFileAsync = promisify(execFile);
const BASE = 21070;
const PUBLISH = BASE + 9;
const POD_CIDR = '100.64.128.0/18';
const SERVICE_CIDR = '100.96.70.0/24';

/** The simulated hosts' names are derived from the state dir (apps/tsctl simulated.hosts.ts): "tl" + 8 hex digits, "tide-" + the same. */
function hashOf(stateDir: string): string {
  return createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 8);
}

/** What is left on the machine of a cluster's simulated hosts. */
function leftovers(stateDir: string): string[] {
  const hash = hashOf(stateDir);
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`tide-${hash}-`));
  const links = fs.readdirSync('/sys/class/net').filter((name) => name.startsWith(`tl${hash}`));
  const rules = execFileSync('iptables', ['-w', '-S', 'FORWARD'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`tl${hash}`));
  const groups = fs.existsSync('/sys/fs/cgroup/freezer/tide-hosts') ? fs.readdirSync('/sys/fs/cgroup/freezer/tide-hosts').filter((g) => g.startsWith(`tide-${hash}-`)) : [];
  return [...namespaces, ...links, ...rules, ...groups];
}

function routesIn(stateDir: string, node: string): string {
  return execFileSync('ip', ['-n', `tide-${hashOf(stateDir)}-${node}`, '-4', 'route', 'show'], { encoding: 'utf8' });
}

/** A TCP connect from this machine's namespace (the LAN's root side): true once it connected, false on refusal or after 2 s. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    const end = (connected: boolean) => {
      socket.destroy();
      resolve(connected);
    };
    socket.once('connect', () => end(true));
    socket.once('timeout', () => end(false));
    socket.once('error', () => end(false));
  });
}

/** One cluster of simulated hosts, its web replicas and one client container. */
class HostsFixture {
  cluster!: TestCluster;
  nodes: Node[] = [];
  web: Replica[] = [];
  client!: Replica;

  async start(nodes: number, webReplicas: number, flags: string[]): Promise<void> {
    this.cluster = await TestCluster.start({
      nodes, basePort: BASE, upFlags: ['--hosts', 'netns', '--host-cidr', '198.18.70.0/24', '--pod-cidr', POD_CIDR, '--service-cidr', SERVICE_CIDR, ...flags],
    });
    this.nodes = await this.cluster.nodeList();
    // Each web replica asks for 40% of a host's CPU, so that two fit on each host and no more: spread evenly.
    const cpu = `${Math.floor(this.nodes[0].status!.allocatable.cpu * 0.4)}m`;
    const script = 'mkdir /www; hostname > /www/index.html; httpd -f -p 8080 -h /www';
    const ports = `  ports:\n    - { name: http, containerPort: 8080, port: 80, publish: ${PUBLISH}, protocol: HTTP }\n`;
    const applied = await this.cluster.apply(`${shellService('web', webReplicas, script, `cpu: ${cpu}, memory: 16Mi`, ports)}---\n${shellService('client', 1, 'sleep 3600', 'cpu: 10m, memory: 8Mi')}`);
    assert.equal(applied.code, 0, applied.stderr);
    this.web = await waitFor(`${webReplicas} ready web replicas on ${nodes} hosts`, async () => {
      const list = running(await this.cluster.replicas('web')).filter((r) => r.status?.ready && r.status.ip);
      return list.length === webReplicas && new Set(list.map((r) => r.spec.nodeName)).size === nodes ? list : undefined;
    }, 180_000);
    this.client = await waitFor('a running client', async () => running(await this.cluster.replicas('client'))[0], 120_000);
  }

  /** wget in the client container; the body, or undefined when it failed. */
  async wget(url: string): Promise<string | undefined> {
    // No -T: Debian's static busybox 1.35 wget crashes with it; tsctl exec's time limit ends a hung one.
    const result = await this.cluster.tsctl(['exec', this.client.metadata.name, '--', 'wget', '-q', '-O', '-', url], { timeoutMs: 60_000 });
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** The hosts whose replicas answered `url` from the client, asking until all hosts did. */
  async hostsAnsweringInClient(url: string): Promise<Set<string>> {
    const nodeOf = new Map(this.web.map((r) => [r.metadata.name, r.spec.nodeName!]));
    const seen = new Set<string>();
    await waitFor(`replicas on all ${this.nodes.length} hosts through ${url} from ${this.client.metadata.name} on ${this.client.spec.nodeName}`, async () => {
      for (let i = 0; i < 10 && seen.size < this.nodes.length; i++) {
        const answer = await this.wget(url);
        if (answer && nodeOf.has(answer)) seen.add(nodeOf.get(answer)!);
      }
      return seen.size === this.nodes.length ? seen : undefined;
    }, 180_000);
    return seen;
  }

  async stop(): Promise<void> {
    if (!this.cluster) return;
    await this.cluster.stop();
    assert.deepEqual(leftovers(this.cluster.stateDir), [], 'tsctl down removes every namespace, veth, bridge, rule and freezer group of the simulated hosts');
  }
}

describe('three simulated hosts, host-gw', { timeout: 900_000 }, () => {
  const fixture = new HostsFixture();
  before(async () => fixture.start(3, 6, []));
  after(async () => fixture.stop());

  it('puts each host on its own LAN address and the control plane on the LAN', () => {
    assert.match(fixture.cluster.server, /^https:\/\/198\.18\.70\.1:21070$/);
    assert.deepEqual(fixture.nodes.map((n) => n.spec.address).sort(), ['198.18.70.2', '198.18.70.3', '198.18.70.4']);
    for (const node of fixture.nodes) assert.match(node.spec.podCIDR ?? '', /^100\.64\.\d+\.0\/22$/, 'a /22 slice by default');
  });

  it('answers http://web/ and http://web.default.svc.tide/ from a container with replicas on all three hosts', async () => {
    for (const url of ['http://web/', 'http://web.default.svc.tide/']) assert.equal((await fixture.hostsAnsweringInClient(url)).size, 3);
  });

  it('reaches every web replica by its IP from the client, across hosts', async () => {
    for (const replica of fixture.web) {
      const answer = await waitFor(`${replica.metadata.name} on ${replica.spec.nodeName} at ${replica.status!.ip}`, () => fixture.wget(`http://${replica.status!.ip}:8080/`), 60_000);
      assert.equal(answer, replica.metadata.name);
    }
    assert.ok(fixture.web.some((r) => r.spec.nodeName !== fixture.client.spec.nodeName), 'some replicas are on other hosts than the client');
  });

  it('reaches replicas on all hosts through the published port of each host', async () => {
    const nodeOf = new Map(fixture.web.map((r) => [r.metadata.name, r.spec.nodeName!]));
    for (const node of fixture.nodes) {
      const seen = new Set<string>();
      await waitFor(`replicas on all hosts through ${node.spec.address}:${PUBLISH}`, async () => {
        for (let i = 0; i < 20 && seen.size < 3; i++) {
          const response = await fetch(`http://${node.spec.address}:${PUBLISH}/`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
          const answer = response?.ok ? (await response.text()).trim() : undefined;
          if (answer && nodeOf.has(answer)) seen.add(nodeOf.get(answer)!);
        }
        return seen.size === 3 ? seen : undefined;
      }, 120_000);
    }
  });

  it("reaches replicas on all hosts through the service IP from each host's own namespace", async () => {
    const ip = (await fixture.cluster.services()).find((s) => s.metadata.name === 'web')!.status!.clusterIP!;
    const nodeOf = new Map(fixture.web.map((r) => [r.metadata.name, r.spec.nodeName!]));
    const script = `fetch('http://${ip}/', { signal: AbortSignal.timeout(10000) }).then((r) => r.text()).then((t) => process.stdout.write(t.trim()), () => undefined)`;
    for (const node of fixture.nodes) {
      const netns = `tide-${hashOf(fixture.cluster.stateDir)}-${node.metadata.name}`;
      const seen = new Set<string>();
      await waitFor(`replicas on all hosts through ${ip} from ${netns}`, async () => {
        for (let i = 0; i < 12 && seen.size < 3; i++) {
          const { stdout } = await execFileAsync('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { timeout: 20_000 }).catch(() => ({ stdout: '' }));
          if (nodeOf.has(stdout)) seen.add(nodeOf.get(stdout)!);
        }
        return seen.size === 3 ? seen : undefined;
      }, 120_000);
    }
  });

  it('has a host cut off from the LAN stop its own replicas before the control plane replaces them, and run none of them when it returns', async () => {
    const web = running(await fixture.cluster.replicas('web'));
    const count = (node: Node) => web.filter((r) => r.spec.nodeName === node.metadata.name).length;
    const victim = fixture.nodes.filter((n) => n.metadata.name !== fixture.client.spec.nodeName).sort((a, b) => count(b) - count(a))[0];
    const name = victim.metadata.name;
    const old = web.filter((r) => r.spec.nodeName === name);
    assert.ok(old.length > 0, `${name} runs web replicas to lose`);
    const pids = old.map((r) => r.status!.pid!);
    const oldNames = new Set(old.map((r) => r.metadata.name));
    // The host stays up, agent and containers: only its link to the LAN goes (a partition, not a power cut).
    const link = simulatedHostLink(fixture.cluster.stateDir, victim);
    execFileSync('ip', ['link', 'set', link, 'down']);
    try {
      await waitFor(`${name} NotReady`, async () => ((await fixture.cluster.nodeList()).find((n) => n.metadata.name === name)?.status?.ready === false ? true : undefined), 60_000);
      // Each host has room for 2 web replicas only: the replacements wait (Pending) until the host is back.
      const stoppedFirst = await waitFor('the control plane to give up the cut-off host\'s replicas (NodeLost)', async () => {
        const stillThere = running(await fixture.cluster.replicas('web')).filter((r) => oldNames.has(r.metadata.name));
        // Sampled when the control plane lets them go, the moment a replacement may start: were the copies gone by then?
        return stillThere.length === 0 ? { stopped: pids.filter((pid) => !isAlive(pid)).length } : undefined;
      }, 120_000, 100).catch(async (error: Error) => {
        const table = await fixture.cluster.tsctl(['get', 'replicas', '-o', 'wide']);
        const nodes = await fixture.cluster.tsctl(['get', 'nodes']);
        throw new Error(`${error.message}\n${table.stdout}\n${nodes.stdout}`);
      });
      assert.equal(stoppedFirst.stopped, pids.length, `the agent of ${name}, cut off, had stopped its ${pids.length} web containers before the control plane replaced them`);
    } finally {
      execFileSync('ip', ['link', 'set', link, 'up']);
    }
    await waitFor(`${name} Ready again`, async () => ((await fixture.cluster.nodeList()).find((n) => n.metadata.name === name)?.status?.ready ? true : undefined), 120_000);
    // Past a few heartbeats and a desired set: none of the lost replicas runs again, in the API or on the host.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const stale = running(await fixture.cluster.replicas('web')).filter((r) => oldNames.has(r.metadata.name));
    assert.deepEqual(stale.map((r) => r.metadata.name), [], 'no replica of the cut-off host runs again beside its replacement');
    assert.deepEqual(pids.filter(isAlive), []);
    await waitFor('6 ready web replicas again, the replacements on the host that returned too', async () => (running(await fixture.cluster.replicas('web')).filter((r) => r.status?.ready).length === 6 ? true : undefined), 120_000);
  });

  it('kills a host at once (its agent and containers, its address silent) and starts it again', async () => {
    const victim = fixture.nodes.find((n) => n.metadata.name !== fixture.client.spec.nodeName)!;
    const name = victim.metadata.name;
    const killed = await fixture.cluster.tsctl(['host', 'kill', name, '--state-dir', fixture.cluster.stateDir]);
    assert.equal(killed.code, 0, killed.stderr);
    // Agent plus at least its two web containers.
    assert.match(killed.stdout, new RegExp(`host ${name} \\(${victim.spec.address.replace(/\./g, '\\.')}\\) killed: ([3-9]|\\d{2,}) process`));
    assert.equal(await connects(victim.spec.address, victim.spec.agentPort!), false, 'the killed host answers nothing');
    await waitFor(`${name} NotReady`, async () => ((await fixture.cluster.nodeList()).find((n) => n.metadata.name === name)?.status?.ready === false ? true : undefined), 120_000);
    const started = await fixture.cluster.tsctl(['host', 'start', name, '--state-dir', fixture.cluster.stateDir]);
    assert.equal(started.code, 0, started.stderr);
    await waitFor(`${name} Ready again`, async () => ((await fixture.cluster.nodeList()).find((n) => n.metadata.name === name)?.status?.ready ? true : undefined), 120_000);
  });

  it('removes the routes to a host that leaves from every other host', async () => {
    const leaving = fixture.nodes.find((n) => n.metadata.name !== fixture.client.spec.nodeName)!;
    const others = fixture.nodes.filter((n) => n !== leaving).map((n) => n.metadata.name);
    for (const other of others) assert.match(routesIn(fixture.cluster.stateDir, other), new RegExp(`${leaving.spec.podCIDR!.replace(/\./g, '\\.')} via ${leaving.spec.address.replace(/\./g, '\\.')}`));
    const killed = await fixture.cluster.tsctl(['host', 'kill', leaving.metadata.name, '--state-dir', fixture.cluster.stateDir]);
    assert.equal(killed.code, 0, killed.stderr);
    // The Node goes once its replicas are replaced (NotReady for the grace period, 2 s by default): delete until it is removed.
    await waitFor(`${leaving.metadata.name} removed by tsctl node delete`, async () => {
      const deleted = await fixture.cluster.tsctl(['node', 'delete', leaving.metadata.name]);
      assert.equal(deleted.code, 0, deleted.stderr);
      return deleted.stdout.includes('the node removed') ? true : undefined;
    }, 180_000);
    for (const other of others) {
      await waitFor(`no route to ${leaving.spec.podCIDR} on ${other}`, async () => (routesIn(fixture.cluster.stateDir, other).includes(leaving.spec.podCIDR!) ? undefined : true), 60_000);
    }
  });
});

describe('two simulated hosts, vxlan', { timeout: 900_000 }, () => {
  const fixture = new HostsFixture();
  before(async () => fixture.start(2, 2, ['--pod-network', 'vxlan']));
  after(async () => fixture.stop());

  it('routes the other host\'s slice through the VXLAN device, not via its address', () => {
    const [one, two] = fixture.nodes;
    const routes = routesIn(fixture.cluster.stateDir, one.metadata.name);
    assert.match(routes, new RegExp(`${two.spec.podCIDR!.replace(/\./g, '\\.')} via ${two.spec.podCIDR!.split('/')[0].replace(/\./g, '\\.')} dev tvx[0-9a-f]{10} .*onlink`));
    // Only the other host may send into the overlay.
    const input = execFileSync('ip', ['netns', 'exec', `tide-${hashOf(fixture.cluster.stateDir)}-${one.metadata.name}`, 'iptables', '-w', '-S', 'INPUT'], { encoding: 'utf8' });
    assert.match(input, new RegExp(`-A INPUT -s ${two.spec.address.replace(/\./g, '\\.')}/32 -p udp -m udp --dport 4789 .* -j ACCEPT\n-A INPUT -p udp -m udp --dport 4789 .* -j DROP`));
  });

  it('reaches every replica by its IP and through http://web/ across the overlay', async () => {
    for (const replica of fixture.web) {
      const answer = await waitFor(`${replica.metadata.name} on ${replica.spec.nodeName} at ${replica.status!.ip}`, () => fixture.wget(`http://${replica.status!.ip}:8080/`), 60_000);
      assert.equal(answer, replica.metadata.name);
    }
    assert.equal((await fixture.hostsAnsweringInClient('http://web/')).size, 2);
  });
});
