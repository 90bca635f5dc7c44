/**
 * Issue 15, service addresses and names, on two nodes of this machine: every service gets a virtual
 * IP of the service range; from a busybox container on each node, `wget http://web/`,
 * `http://web.default.svc.tide/` and `http://<IP>:80/` answer from the replicas of both nodes
 * (through that node's balancer); `nslookup` finds the name, an unknown name is NXDOMAIN, other
 * names are forwarded to a fake upstream DNS on loopback (no outside network), and after `tsctl
 * delete` the name stops resolving. The service IP answers the host while both agents are killed (the
 * listeners are the node balancer processes'). Nothing of it is left after `tsctl down`.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as dnsPacket from 'dns-packet';
import type { Node, Replica, Service } from '@tide/api';
import { AgentProcess } from './agent.process';
import { TestCluster, running, shellService, waitFor } from './harness';

const BASE = 20470;
const POD_CIDR = '100.64.96.0/22';
const SERVICE_CIDR = '100.96.96.0/24';
/** The fake upstream resolver: the nodes' DNS forwards names outside the cluster here. */
const UPSTREAM = '127.0.0.81';
const OUTSIDE_NAME = 'outside.example';
const OUTSIDE_IP = '198.18.0.10';

/** Answers OUTSIDE_NAME, NXDOMAIN for anything else; UDP and TCP on one port. */
async function startFakeUpstream(): Promise<{ port: number; queries: string[]; close: () => void }> {
  const queries: string[] = [];
  const reply = (message: Buffer) => {
    const query = dnsPacket.decode(message);
    const name = query.questions?.[0]?.name ?? '';
    queries.push(name);
    const known = name.toLowerCase() === OUTSIDE_NAME && query.questions?.[0]?.type === 'A';
    return dnsPacket.encode({ type: 'response', id: query.id, questions: query.questions, flags: name.toLowerCase() === OUTSIDE_NAME ? 0 : 3,
      answers: known ? [{ type: 'A', name, ttl: 30, data: OUTSIDE_IP }] : [] });
  };
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, UPSTREAM, resolve));
  udp.on('message', (message, peer) => udp.send(reply(message), peer.port, peer.address));
  const tcp = net.createServer((socket) => socket.on('data', (chunk) => {
    const answer = reply(chunk.subarray(2));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(answer.length);
    socket.end(Buffer.concat([length, answer]));
  }));
  await new Promise<void>((resolve) => tcp.listen(udp.address().port, UPSTREAM, resolve));
  return { port: udp.address().port, queries, close: () => { udp.close(); tcp.close(); } };
}

/** One query over TCP to a node's DNS, from the host. */
async function queryTcp(server: string, name: string): Promise<string[]> {
  const socket = net.connect(53, server);
  const query = dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
  const length = Buffer.alloc(2);
  length.writeUInt16BE(query.length);
  socket.write(Buffer.concat([length, query]));
  let buffered = Buffer.alloc(0);
  for await (const chunk of socket) {
    buffered = Buffer.concat([buffered, chunk as Buffer]);
    if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) break;
  }
  socket.destroy();
  const answer = dnsPacket.decode(buffered.subarray(2));
  return (answer.answers ?? []).map((a) => (a as dnsPacket.StringAnswer).data);
}

/** What is left on the machine of this cluster's service IPs. */
function leftovers(): string[] {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'local'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(SERVICE_CIDR));
  const rules = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(SERVICE_CIDR) || l.includes('100.96.96.'));
  return [...routes, ...rules];
}

describe('service addresses and names on two nodes', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let nodes: Node[];
  let web: Replica[];
  let clients: Replica[];
  let ip: string;

  before(async () => {
    upstream = await startFakeUpstream();
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR, upFlags: upFlags() });
    nodes = await cluster.nodeList();
  });

  after(async () => {
    await cluster?.stop();
    upstream?.close();
    assert.deepEqual(leftovers(), [], 'tsctl down removes the service range\'s route and rules');
  });

  const upFlags = () => ['--service-cidr', SERVICE_CIDR, '--dns-upstream', `${UPSTREAM}:${upstream.port}`];

  /** Runs a command in a client replica; its stdout, or undefined when it failed. */
  async function inClient(client: Replica, command: string[]): Promise<{ code: number; out: string }> {
    const result = await cluster.tsctl(['exec', client.metadata.name, '--', ...command], { timeoutMs: 60_000 });
    return { code: result.code, out: `${result.stdout}${result.stderr}` };
  }

  it('gives the service a virtual IP of --service-cidr, shown by get services -o wide and describe', async () => {
    // Each web replica asks for 60% of a node's CPU, so there is one per node; each client 60% of its memory.
    const cpu = `${Math.floor(nodes[0].status!.allocatable.cpu * 0.6)}m`;
    const memory = `${Math.floor(nodes[0].status!.allocatable.memory * 0.6)}`;
    const script = 'mkdir /www; hostname > /www/index.html; httpd -f -p 8080 -h /www';
    const ports = '  ports:\n    - { name: http, containerPort: 8080, port: 80, protocol: HTTP }\n';
    const applied = await cluster.apply(`${shellService('web', 2, script, `cpu: ${cpu}, memory: 16Mi`, ports)}---\n${shellService('client', 2, 'sleep 3600', `cpu: 10m, memory: ${memory}`)}`);
    assert.equal(applied.code, 0, applied.stderr);
    const services = await waitFor('both services with an IP', async () => {
      const list = (await cluster.services()).filter((s: Service) => s.status?.clusterIP);
      return list.length === 2 ? list : undefined;
    }, 60_000);
    ip = services.find((s) => s.metadata.name === 'web')!.status!.clusterIP!;
    assert.match(ip, /^100\.96\.96\.\d+$/);
    assert.notEqual(ip, services.find((s) => s.metadata.name === 'client')!.status!.clusterIP);
    const wide = await cluster.tsctl(['get', 'services', '-o', 'wide']);
    assert.match(wide.stdout, new RegExp(`web .*${ip.replace(/\./g, '\\.')} +80/HTTP`));
    const described = await cluster.tsctl(['describe', 'service', 'web']);
    assert.match(described.stdout, new RegExp(`IP: +${ip.replace(/\./g, '\\.')} \\(web\\.default\\.svc\\.tide\\)`));
    web = await waitFor('2 running web replicas, one per node', async () => {
      const list = running(await cluster.replicas('web')).filter((r) => r.status?.ready);
      return list.length === 2 && new Set(list.map((r) => r.spec.nodeName)).size === 2 ? list : undefined;
    }, 120_000);
    clients = await waitFor('2 running clients, one per node', async () => {
      const list = running(await cluster.replicas('client'));
      return list.length === 2 && new Set(list.map((r) => r.spec.nodeName)).size === 2 ? list : undefined;
    }, 120_000);
  });

  it('answers http://web/, http://web.default.svc.tide/ and http://IP:80/ from containers on each node, with replicas of both nodes', async () => {
    const names = web.map((r) => r.metadata.name).sort();
    for (const client of clients) {
      for (const url of ['http://web/', 'http://web.default.svc.tide/', `http://${ip}:80/`]) {
        const seen = await waitFor(`both web replicas through ${url} from ${client.metadata.name} (${client.spec.nodeName})`, async () => {
          const answers = new Set<string>();
          for (let i = 0; i < 12; i++) {
            // No -T: Debian's static busybox 1.35 wget crashes with it (SIGSEGV); tsctl exec's time limit ends a hung one.
            const result = await inClient(client, ['wget', '-q', '-O', '-', url]);
            if (result.code === 0) answers.add(result.out.trim());
          }
          return answers.size === 2 ? answers : undefined;
        }, 120_000);
        assert.deepEqual([...seen].sort(), names);
      }
    }
  });

  it('reaches the service IP from the host too', async () => {
    const answer = await waitFor(`an answer from http://${ip}/ on the host`, async () => {
      const response = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      return response?.ok ? (await response.text()).trim() : undefined;
    });
    assert.ok(web.some((r) => r.metadata.name === answer), answer);
  });

  it('keeps the service IP answering while both agents are killed (its listeners are the balancer processes\'), and at the same ports after', async () => {
    const dnatRules = () => execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`-d ${ip}/32`)).sort();
    const rulesBefore = dnatRules();
    const agents = nodes.map((node) => new AgentProcess(cluster, node.metadata.name));
    for (const agent of agents) await agent.kill();
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 200, 'answered with no agent running');
      await response.text();
    }
    agents.forEach((agent, i) => agent.start({ logName: `agent-restarted-${i}.log` }));
    await waitFor('both nodes Ready again', async () => (await cluster.nodeList()).filter((n) => n.status?.ready).length === 2 || undefined, 120_000);
    await waitFor('both web replicas ready again', async () => running(await cluster.replicas('web')).filter((r) => r.status?.ready).length === 2 || undefined, 120_000);
    const response = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    assert.deepEqual(dnatRules(), rulesBefore, 'the restarted agents found the listeners at the same ports');
  });

  it('keeps every address across a control-plane restart, and gives a new service another one', async () => {
    const before = new Map((await cluster.services()).map((s) => [s.metadata.name, s.status?.clusterIP]));
    const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as { controlPlane: { pid: number } };
    const pid = record.controlPlane.pid;
    process.kill(pid, 'SIGTERM'); // it stops its etcd too; the data stays in the state dir
    await waitFor('the control plane to exit', async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 60_000);
    const up = await cluster.tsctl(['up', '--nodes', '2', '--state-dir', cluster.stateDir, '--base-port', String(BASE), '--pod-cidr', POD_CIDR, '--node-cidr-mask-size', '24',
      '--timeout', '240', ...upFlags()], { timeoutMs: 300_000 });
    assert.equal(up.code, 0, `${up.stdout}${up.stderr}`);
    const applied = await cluster.apply(shellService('extra', 1, 'sleep 3600', 'cpu: 10m, memory: 8Mi'));
    assert.equal(applied.code, 0, applied.stderr);
    const after = await waitFor('the new service\'s address', async () => {
      const map = new Map((await cluster.services()).map((s) => [s.metadata.name, s.status?.clusterIP]));
      return map.get('extra') ? map : undefined;
    }, 60_000);
    assert.equal(after.get('web'), before.get('web'));
    assert.equal(after.get('client'), before.get('client'));
    assert.ok(![...before.values()].includes(after.get('extra')), `a new address: ${after.get('extra')}`);
    // The agents follow the restarted control plane: the name still answers from the containers.
    await waitFor(`http://web/ after the restart`, async () => (await inClient(clients[0], ['wget', '-q', '-O', '-', 'http://web/'])).code === 0 || undefined, 120_000);
  });

  it('resolves names with nslookup, says NXDOMAIN for an unknown one, forwards others upstream, and answers over TCP', async () => {
    const client = clients[0];
    // busybox's nslookup asks every search domain and fails when any of them is NXDOMAIN: the answer is what counts.
    const found = await inClient(client, ['nslookup', 'web']);
    assert.match(found.out, new RegExp(`web\\.default\\.svc\\.tide[\\s\\S]*${ip.replace(/\./g, '\\.')}`));
    const unknown = await inClient(client, ['nslookup', 'nope.default.svc.tide']);
    assert.notEqual(unknown.code, 0, unknown.out);
    assert.match(unknown.out, /NXDOMAIN/);
    const outside = await inClient(client, ['nslookup', OUTSIDE_NAME]);
    assert.match(outside.out, new RegExp(OUTSIDE_IP.replace(/\./g, '\\.')), outside.out);
    assert.ok(upstream.queries.includes(OUTSIDE_NAME), `the upstream was asked: ${upstream.queries.join(' ')}`);
    const resolv = await inClient(client, ['cat', '/etc/resolv.conf']);
    assert.match(resolv.out, /search default\.svc\.tide svc\.tide tide/);
    const server = /nameserver (\S+)/.exec(resolv.out)![1];
    assert.deepEqual(await queryTcp(server, 'web.default.svc.tide'), [ip]);
  });

  it('stops resolving the name once the service is deleted', async () => {
    const deleted = await cluster.tsctl(['delete', 'service', 'web']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor('web to stop resolving', async () => {
      const result = await inClient(clients[0], ['nslookup', 'web.default.svc.tide']);
      return result.code !== 0 && /NXDOMAIN/.test(result.out) ? true : undefined;
    }, 60_000);
  });
});
