/**
 * README "Several machines": the control plane on one machine with a routable address (`tsctl up
 * --address A --nodes 1`), another machine joined with the one command `tsctl token create --join`
 * prints. The other machine is a network namespace of this one (`th-m2`) on a LAN bridge (`th-lan72`,
 * 198.18.72.0/24, the benchmarking range) that also holds A: the control plane's machine is this
 * machine's own namespace, as it would be on real hardware. A container on the control plane's node
 * reaches the joined machine's replica by IP and both through the service name.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Replica } from '@tide/api';
import { JoinedAgent, printedJoin } from './agent.process';
import { TestCluster, running, waitFor } from './harness';

const BASE = 22600;
const ADDRESS = '198.18.72.1';
const OTHER = '198.18.72.2';
const LAN = 'th-lan72';
const NETNS = 'th-m2';
const VETH = 'th-m2v';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function makeLan(): void {
  ip('link', 'add', LAN, 'type', 'bridge');
  ip('addr', 'add', `${ADDRESS}/24`, 'dev', LAN);
  ip('link', 'set', LAN, 'up');
  ip('netns', 'add', NETNS);
  ip('link', 'add', VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NETNS);
  ip('link', 'set', VETH, 'master', LAN, 'up');
  ip('-n', NETNS, 'addr', 'add', `${OTHER}/24`, 'dev', 'eth0');
  ip('-n', NETNS, 'link', 'set', 'eth0', 'up');
  ip('-n', NETNS, 'link', 'set', 'lo', 'up');
}

function removeLan(): void {
  for (const args of [['netns', 'delete', NETNS], ['link', 'delete', VETH], ['link', 'delete', LAN]]) {
    try {
      ip(...args);
    } catch {
      /* not made, or gone with the namespace */
    }
  }
}

describe('a cluster across machines, joined with one command', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let joined: JoinedAgent | undefined;

  before(async () => {
    removeLan(); // a run that was killed may have left them
    makeLan();
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, upFlags: ['--address', ADDRESS, '--pod-cidr', '100.64.112.0/21'] });
  });

  after(async () => {
    await joined?.stop();
    await cluster?.stop();
    removeLan();
    const routes = execFileSync('ip', ['-4', 'route', 'show', 'proto', '73'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(OTHER));
    assert.deepEqual(routes, [], 'tsctl down removes the route to the other machine\'s slice');
  });

  it('listens on the routable address and joins the other machine with the printed command', async () => {
    assert.equal(cluster.server, `https://${ADDRESS}:${BASE}`);
    const made = await cluster.tsctl(['token', 'create', '--join', '--uses', '1']);
    assert.equal(made.code, 0, made.stderr);
    const join = printedJoin(made.stdout);
    assert.ok(join.flags.includes(`${ADDRESS}:${BASE + 1}`), made.stdout);
    joined = new JoinedAgent({
      join, netns: NETNS, flags: ['--name', 'machine-2', '--address', OTHER, '--port', String(BASE + 20)],
      stateDir: path.join(cluster.stateDir, 'other-machine'), imageDir: path.join(cluster.stateDir, 'images'), log: path.join(cluster.stateDir, 'other-machine.log'),
    });
    await waitFor('machine-2 Ready', async () => (await cluster.nodeList()).find((n) => n.metadata.name === 'machine-2')?.status?.ready, 120_000);
  });

  it('reaches the other machine\'s replica by IP, and both through the service name, from a container here', async () => {
    const script = 'mkdir /www; hostname > /www/index.html; httpd -f -p 8080 -h /www';
    const applied = await cluster.apply(`apiVersion: tide/v1
kind: Service
metadata: { name: web }
spec:
  replicas: 2
  image: busybox
  command: ["sh", "-c", ${JSON.stringify(script)}]
  resources: { requests: { cpu: 10m, memory: 8Mi } }
  ports: [{ name: http, containerPort: 8080, port: 80, protocol: HTTP }]
  terminationGracePeriodSeconds: 1
---
apiVersion: tide/v1
kind: Service
metadata: { name: client }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  resources: { requests: { cpu: 10m, memory: 8Mi } }
  terminationGracePeriodSeconds: 1
`);
    assert.equal(applied.code, 0, applied.stderr);
    const web: Replica[] = await waitFor('a ready web replica on each machine', async () => {
      const list = running(await cluster.replicas('web')).filter((r) => r.status?.ready);
      return list.length === 2 && new Set(list.map((r) => r.spec.nodeName)).size === 2 ? list : undefined;
    }, 180_000);
    const client = await waitFor('a running client', async () => running(await cluster.replicas('client'))[0], 120_000);
    const wget = async (url: string) => {
      const result = await cluster.tsctl(['exec', client.metadata.name, '--', 'wget', '-q', '-O', '-', url], { timeoutMs: 60_000 });
      return result.code === 0 ? result.stdout.trim() : undefined;
    };
    const remote = web.find((r) => r.spec.nodeName !== client.spec.nodeName)!;
    assert.equal(await waitFor(`${remote.metadata.name} by IP`, () => wget(`http://${remote.status!.ip}:8080/`), 60_000), remote.metadata.name);
    const seen = new Set<string>();
    await waitFor('both replicas through http://web/', async () => {
      for (let i = 0; i < 10 && seen.size < 2; i++) {
        const answer = await wget('http://web/');
        if (answer) seen.add(answer);
      }
      return seen.size === 2 ? true : undefined;
    }, 120_000);
    assert.deepEqual([...seen].sort(), web.map((r) => r.metadata.name).sort());
  });
});
