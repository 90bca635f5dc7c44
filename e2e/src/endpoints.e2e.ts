/**
 * Issue 14 acceptance, the endpoints half, on a `tsctl up` cluster: from inside containers (bridge
 * network, and host network, which shares the host's loopback) the API without a token, etcd and the
 * agent's exec endpoint refuse them; plain HTTP to the agent and to etcd gets no answer in clear;
 * metrics without credentials are a 401. The probes run in the containers through `tsctl exec`
 * (so the exec path itself is the control plane's proxy to the agent over mTLS).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, pidsMentioning, running, waitFor } from './harness';

const BASE = 20670; // API; gRPC +1, etcd +2/+3, the agent +11
const POD_CIDR = '100.64.92.0/22';

/**
 * Runs in the container (node image): each probe's outcome as `http:STATUS`, `upgraded`, `clear:TEXT`
 * (a plain-HTTP answer's status line), `no-answer`, or `error:CODE`. TLS probes trust anything (the
 * question is what the server lets through, not who it is) and present no certificate.
 */
const PROBE = String.raw`
const net = require('net'), https = require('https'), fs = require('fs');
const probes = JSON.parse(process.argv[1]);
const gateway = (() => {
  for (const line of fs.readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === '00000000' && f[2]) return f[2].match(/../g).reverse().map((h) => parseInt(h, 16)).join('.');
  }
})();
const done = (resolve, timer) => (value) => { clearTimeout(timer); resolve(value); };
function tlsRequest(p) {
  return new Promise((resolve) => {
    const req = https.request({ host: p.host, port: p.port, path: p.path, method: p.method || 'GET', rejectUnauthorized: false, agent: false,
      headers: p.upgrade ? { Connection: 'Upgrade', Upgrade: 'tide-exec' } : (p.body ? { 'content-type': 'application/json' } : {}) });
    const end = done(resolve, setTimeout(() => { req.destroy(); resolve('error:TIMEOUT'); }, 5000));
    req.on('upgrade', (res, socket) => { socket.destroy(); end('upgraded'); });
    req.on('response', (res) => { res.resume(); end('http:' + res.statusCode); });
    req.on('error', (e) => end('error:' + (e.code || e.message)));
    req.end(p.body);
  });
}
function clear(p) {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(p.port, p.host, () => socket.write('GET ' + p.path + ' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    const end = done(resolve, setTimeout(() => { socket.destroy(); resolve(text ? 'clear:' + text.split('\r\n')[0] : 'no-answer'); }, 5000));
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', (e) => end(text ? 'clear:' + text.split('\r\n')[0] : 'error:' + e.code));
    socket.on('close', () => end(/^HTTP\/1\.[01] \d{3}/.test(text) ? 'clear:' + text.split('\r\n')[0] : 'no-answer'));
  });
}
(async () => {
  const results = {};
  for (const p of probes) {
    const host = p.host === 'GATEWAY' ? gateway : p.host;
    results[p.name + (p.host === 'GATEWAY' ? '@gateway' : '')] = await (p.kind === 'clear' ? clear({ ...p, host }) : tlsRequest({ ...p, host }));
  }
  console.log(JSON.stringify({ gateway, results }));
})();
`;

const service = (name: string, network: 'bridge' | 'host') => `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:
  replicas: 1
  image: node
  network: ${network}
  command: ["node", "-e", "setInterval(() => {}, 1 << 30)"]
  terminationGracePeriodSeconds: 0
`;

interface Probe { name: string; kind: 'tls' | 'clear'; host: string; port: number; path: string; method?: string; body?: string; upgrade?: boolean }

function probes(host: string, agentHost: string): Probe[] {
  const etcdRange = JSON.stringify({ key: Buffer.from('/tide/').toString('base64'), range_end: Buffer.from('/tide0').toString('base64') });
  return [
    { name: 'api', kind: 'tls', host, port: BASE, path: '/api/v1/services' },
    { name: 'api-metrics', kind: 'tls', host, port: BASE, path: '/metrics' },
    { name: 'etcd', kind: 'tls', host, port: BASE + 2, path: '/v3/kv/range', method: 'POST', body: etcdRange },
    { name: 'etcd-clear', kind: 'clear', host, port: BASE + 2, path: '/version' },
    { name: 'agent-exec', kind: 'tls', host: agentHost, port: BASE + 11, path: '/v1/exec/default/x?command=sh', upgrade: true },
    { name: 'agent-logs', kind: 'tls', host: agentHost, port: BASE + 11, path: '/v1/logs/default/x' },
    { name: 'agent-metrics', kind: 'tls', host: agentHost, port: BASE + 11, path: '/metrics' },
    { name: 'agent-clear', kind: 'clear', host: agentHost, port: BASE + 11, path: '/metrics' },
  ];
}

describe('agents and etcd refuse what runs in containers', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
    for (const [name, network] of [['probe-bridge', 'bridge'], ['probe-host', 'host']] as const) {
      const applied = await cluster.apply(service(name, network));
      assert.equal(applied.code, 0, applied.stderr);
    }
    // The node image is made in the background when the agent starts: its replicas wait for it.
    await waitFor('both probe replicas running', async () => running(await cluster.replicas()).length === 2, 300_000, 500);
  });
  after(async () => {
    await cluster?.stop();
  });

  const probeFrom = async (service: string, list: Probe[]) => {
    const [replica] = running(await cluster.replicas(service));
    const run = await cluster.tsctl(['exec', replica.metadata.name, '--', 'node', '-e', PROBE, JSON.stringify(list)], { timeoutMs: 180_000 });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { gateway: string; results: Record<string, string> };
  };

  it('from the host network (the host\'s loopback): 401 from the API and the agent, etcd and exec refused, nothing in clear', async (t) => {
    const node = (await cluster.nodeList())[0];
    const { results } = await probeFrom('probe-host', probes('127.0.0.1', node.spec.address));
    t.diagnostic(JSON.stringify(results));
    assert.equal(results.api, 'http:401', 'the API without a token');
    assert.equal(results['api-metrics'], 'http:401', 'the control plane\'s metrics without credentials');
    assert.match(results.etcd, /^error:/, `etcd without etcd's client certificate: ${results.etcd}`);
    assert.match(results['etcd-clear'], /^(no-answer|clear:HTTP\/1\.[01] 400 )/, `etcd in clear: ${results['etcd-clear']}`);
    assert.equal(results['agent-exec'], 'http:401', 'the agent\'s exec without the control plane\'s certificate');
    assert.equal(results['agent-logs'], 'http:401');
    assert.equal(results['agent-metrics'], 'http:401', 'the agent\'s metrics without credentials');
    assert.equal(results['agent-clear'], 'no-answer', 'plain HTTP to the agent');
  });

  it('from the bridge network: the same ports at the host\'s addresses and the bridge gateway let nothing through', async (t) => {
    const node = (await cluster.nodeList())[0];
    const list = [...probes('127.0.0.1', node.spec.address), ...probes('GATEWAY', 'GATEWAY')];
    const { gateway, results } = await probeFrom('probe-bridge', list);
    t.diagnostic(JSON.stringify({ gateway, results }));
    assert.match(gateway, /^100\.64\.(9[2-5])\.\d+$/, 'the bridge has a gateway on the host');
    assert.equal(Object.keys(results).length, list.length);
    for (const [name, outcome] of Object.entries(results)) {
      assert.match(outcome, /^(error:|no-answer$|http:40[13]$|clear:HTTP\/1\.[01] 400)/, `${name}: ${outcome}`);
    }
  });

  it('keeps etcd\'s client certificate private, in the control plane\'s state dir only', () => {
    const etcdPki = path.join(cluster.stateDir, 'pki', 'etcd');
    for (const key of ['ca.key', 'server.key', 'peer.key', 'control-plane-client.key']) assert.equal(fs.statSync(path.join(etcdPki, key)).mode & 0o777, 0o600, key);
    assert.equal(fs.statSync(etcdPki).mode & 0o777, 0o700);
    const nodePki = path.join(cluster.stateDir, 'nodes', 'node-1', 'pki');
    // The node's own identity (node.*, from the join), its serving certificate and the CA: no etcd or control-plane key.
    assert.deepEqual(fs.readdirSync(nodePki).filter((f) => !f.startsWith('.')).sort(), ['ca.crt', 'node.crt', 'node.key', 'serving.crt', 'serving.key']);
    const [etcd] = pidsMentioning(path.join(cluster.stateDir, 'control-plane', 'etcd')).map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
      .filter((argv) => path.basename(argv[0]) === 'etcd');
    assert.ok(etcd, 'the supervised etcd runs');
    for (const flag of ['--client-cert-auth', '--peer-client-cert-auth']) assert.ok(etcd.includes(flag), flag);
    assert.ok(etcd.every((arg) => !/^http:/.test(arg)), `no plain-HTTP URL: ${etcd.join(' ')}`);
  });
});
