/**
 * Issue 14, "certificates rotate before they expire without a restart", on a `tsctl up` cluster
 * whose certificates live a minute (`--certificate-validity 60s`, renewed at two thirds of it): a
 * connection made after the renewal is served a certificate with a new serial by the API, the agents'
 * gRPC endpoint, etcd, the registry and the agent's HTTPS endpoint, while the control plane, etcd and
 * the agent keep their PIDs; the node keeps reporting (its client certificate renewed too), the API
 * still answers, the restarted registry takes tokens of the renewed signer, renewals are logged and recorded as events, and no log holds a private key.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { TestCluster, isAlive, pidsMentioning, waitFor } from './harness';

const BASE = 20970;
const POD_CIDR = '100.64.24.0/22';

interface Endpoint {
  what: string;
  port: number;
  host: string;
  /** The client certificate to present (read at each connection: it is renewed too), when the server requires one. */
  client?: () => { cert: string; key: string };
}

/** The serial of the certificate a new TLS connection to the endpoint is served. */
function servedSerial(endpoint: Endpoint, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: endpoint.host, port: endpoint.port, ca,
      checkServerIdentity: () => undefined, ALPNProtocols: ['h2', 'http/1.1'], ...(endpoint.client?.() ?? {}),
    }, () => {
      const serial = socket.getPeerCertificate().serialNumber?.toLowerCase();
      socket.destroy();
      if (serial) resolve(serial); else reject(new Error(`${endpoint.what}: no certificate served`));
    });
    socket.once('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`${endpoint.what}: no handshake in 5 s`)));
  });
}

describe('certificate rotation', { timeout: 420_000 }, () => {
  let cluster: TestCluster;
  let endpoints: Endpoint[];
  const before1 = new Map<string, string>();
  let controlPlanePid: number;
  let agentPid: number;
  let etcdPid: number;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR, upFlags: ['--certificate-validity', '60s'] });
    const pki = path.join(cluster.stateDir, 'pki');
    const pair = (dir: string, name: string) => () => ({
      cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8'), key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'),
    });
    const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as {
      controlPlane: { pid: number }; nodes: Array<{ pid: number; address: string; agentPort: number }>;
    };
    controlPlanePid = record.controlPlane.pid;
    agentPid = record.nodes[0].pid;
    [etcdPid] = pidsMentioning(path.join(cluster.stateDir, 'control-plane', 'etcd')).filter((pid) => /etcd/.test(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')));
    assert.ok(etcdPid, 'the supervised etcd runs');
    endpoints = [
      { what: 'API', host: '127.0.0.1', port: BASE },
      { what: 'gRPC', host: '127.0.0.1', port: BASE + 1, client: pair(pki, 'control-plane-client') },
      { what: 'etcd', host: '127.0.0.1', port: BASE + 2, client: pair(path.join(pki, 'etcd'), 'control-plane-client') },
      { what: 'registry', host: '127.0.0.1', port: BASE + 4 },
      { what: 'agent', host: record.nodes[0].address, port: record.nodes[0].agentPort, client: pair(pki, 'control-plane-client') },
    ];
    const etcdCa = fs.readFileSync(path.join(pki, 'etcd', 'ca.crt'), 'utf8');
    for (const endpoint of endpoints) before1.set(endpoint.what, await servedSerial(endpoint, endpoint.what === 'etcd' ? etcdCa : cluster.caPem));
  });
  after(async () => {
    await cluster?.stop();
  });

  it('serves renewed certificates on new connections, with the same processes', async () => {
    const etcdCa = fs.readFileSync(path.join(cluster.stateDir, 'pki', 'etcd', 'ca.crt'), 'utf8');
    const seen = new Map<string, string>();
    await waitFor('every endpoint to serve a renewed certificate', async () => {
      for (const endpoint of endpoints) {
        if (seen.has(endpoint.what)) continue;
        const serial = await servedSerial(endpoint, endpoint.what === 'etcd' ? etcdCa : cluster.caPem).catch(() => undefined);
        if (serial && serial !== before1.get(endpoint.what)) seen.set(endpoint.what, serial);
      }
      return seen.size === endpoints.length;
    }, 150_000, 1000).catch((error: Error) => {
      throw new Error(`${error.message}; renewed so far: ${[...seen.keys()].join(', ') || 'none'}\n${cluster.logs()}`);
    });
    assert.ok(isAlive(controlPlanePid), 'the control plane kept running');
    assert.ok(isAlive(agentPid), 'the agent kept running');
    assert.ok(isAlive(etcdPid), 'etcd kept running');
    const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as { controlPlane: { pid: number }; nodes: Array<{ pid: number }> };
    assert.equal(record.controlPlane.pid, controlPlanePid);
    assert.equal(record.nodes[0].pid, agentPid);
  });

  it('keeps working after the renewal: the API answers, the node reports with its renewed client certificate', async () => {
    await waitFor('node-1 Ready with a heartbeat after the renewals', async () => {
      const [node] = await cluster.nodeList();
      return node?.status?.ready && Date.now() - Date.parse(node.status.lastHeartbeat ?? '') < 10_000;
    }, 60_000);
    const got = await cluster.tsctl(['get', 'nodes']);
    assert.equal(got.code, 0, got.stderr);
    // The restarted registry takes tokens signed with the renewed signer's key (its bundle was renewed too).
    const issued = await cluster.api<{ token: string }>('/v2/token?service=tide-registry&scope=repository:rotation/none:pull');
    const registry = `https://127.0.0.1:${BASE + 4}/v2/rotation/none/tags/list`;
    const tags = await fetch(registry, { headers: { authorization: `Bearer ${issued.token}` }, dispatcher: cluster.dispatcher } as RequestInit);
    assert.equal(tags.status, 404, `authorised (the repository does not exist): ${tags.status} ${await tags.text()}`);
    assert.equal((await fetch(registry, { dispatcher: cluster.dispatcher } as RequestInit)).status, 401, 'no token, no answer');
  });

  it('logs each renewal with its serials and records the node\'s as events, and logs no key', async () => {
    assert.ok(cluster.logLines(/certificate renewed: API and gRPC serving certificate .* serial \w+ → \w+/).length > 0, 'control plane log');
    assert.ok(cluster.logLines(/certificate renewed: etcd client certificate/).length > 0, 'etcd client renewal logged');
    assert.ok(cluster.logLines(/certificate renewed: registry serving certificate/).length > 0, 'registry renewal logged');
    assert.ok(cluster.logLines(/serving certificate renewed \(serial/).length > 0, 'agent log');
    assert.ok(cluster.logLines(/node certificate renewed \(serial/).length > 0, 'agent client certificate');
    assert.deepEqual(cluster.logLines(/PRIVATE KEY/), []);
    const events = await cluster.api<{ items: Array<{ spec: { reason: string; message: string } }> }>('/api/v1/events?kind=Node&name=node-1');
    const renewals = events.items.filter((e) => e.spec.reason === 'CertificateRenewed').map((e) => e.spec.message).join('\n');
    assert.match(renewals, /serving certificate was renewed/);
    assert.match(renewals, /client certificate was renewed/);
  });
});
