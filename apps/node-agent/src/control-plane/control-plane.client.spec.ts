import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { NodeAssignments, PublishedEndpoints } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import {
  AgentServiceHandlers, Assignments, HeartbeatRequest__Output, RegisterRequest__Output, StatusReport__Output,
  UsageReport__Output, loadAgentProto,
} from '@tide/proto';
import {
  caPin, createCertificateAuthority, describeCertificate, issueClientCertificate, issueServerCertificate, nodeIdentity, signCertificateRequest,
  type CertificateAuthority,
} from '@tide/pki';
import { NodeCredentials, rotateNodeCertificate } from '../identity/node.identity';
import { ClusterFence } from './cluster.fence';
import { ControlPlaneClient } from './control-plane.client';

/** The cluster CA of these tests: the fake control plane's serving pair and the nodes' certificates come from it. */
let caPromise: Promise<CertificateAuthority> | undefined;
const testCa = () => (caPromise ??= createCertificateAuthority());

async function nodeCredentials(name: string, validityMs?: number): Promise<NodeCredentials> {
  const ca = await testCa();
  const issued = await issueClientCertificate(ca, nodeIdentity(name), validityMs ? { validityMs } : {});
  return { ca: ca.certificatePem, certificate: issued.certificatePem, key: issued.key.toPem() };
}

/** A control plane that records what the agent sends and answers as told. */
class FakeControlPlane {
  readonly registrations: RegisterRequest__Output[] = [];
  readonly reports: StatusReport__Output[] = [];
  readonly usage: UsageReport__Output[] = [];
  readonly heartbeats: HeartbeatRequest__Output[] = [];
  /** Whether each WatchAssignments call asked for the node list only when it changed. */
  readonly nodesWhenChanged: boolean[] = [];
  known = true;
  /** The cluster identity it answers registrations with ('' : none). */
  clusterId = '';
  /** What WatchAssignments sends to each new stream. */
  sets: Assignments[] = [
    // One the agent cannot read (no container) is skipped; it keeps what it had until the next.
    { revision: 6, replicas: [{ namespace: 'default', name: 'broken-1', service: 'broken', templateHash: 'h' }] },
    { revision: 7, replicas: [{ namespace: 'default', name: 'web-1', service: 'web', templateHash: 'h', container: { image: 'busybox' } }] },
  ];
  /** The serial of the client certificate of each registration: which credentials the agent used. */
  readonly registeredWith: string[] = [];
  private server?: grpc.Server;

  async listen(port = 0): Promise<number> {
    const server = new grpc.Server();
    const handlers: AgentServiceHandlers = {
      Register: (call, done) => {
        this.registrations.push(call.request);
        this.registeredWith.push(call.getAuthContext().sslPeerCertificate?.serialNumber.toLowerCase() ?? '');
        this.known = true;
        done(null, { leaseTtlSeconds: 10, heartbeatIntervalMs: 200, clusterId: this.clusterId });
      },
      Heartbeat: (call, done) => {
        this.heartbeats.push(call.request);
        done(null, { known: this.known });
      },
      WatchAssignments: (call) => {
        this.nodesWhenChanged.push(call.request.nodesWhenChanged);
        for (const set of this.sets) call.write(set);
      },
      ReportStatus: (call, done) => {
        this.reports.push(call.request);
        done(null, {});
      },
      ReportUsage: (call, done) => {
        this.usage.push(call.request);
        done(null, { holdsFullSet: true });
      },
      WatchEndpoints: (call) => {
        call.write({ revision: 7, ports: [{ namespace: 'default', service: 'web', publish: 18080, protocol: 'HTTP', endpoints: [{ address: '100.64.0.2', port: 8080, replica: 'web-1', nodeName: 'node-1' }] }] });
      },
      RenewCertificate: (call, done) => {
        const node = /^system:node:(.+)$/.exec(String(call.getAuthContext().sslPeerCertificate?.subject.CN))?.[1] ?? '';
        void testCa().then(async (ca) => {
          const signed = await signCertificateRequest(ca, call.request.csr, { allowedIdentity: nodeIdentity(node), validityMs: this.renewedValidityMs });
          if (!signed.ok) return done({ code: grpc.status.PERMISSION_DENIED, details: signed.reason });
          done(null, { certificate: signed.value, ca: ca.certificatePem });
        });
      },
      RenewServingCertificate: (call, done) => {
        const node = /^system:node:(.+)$/.exec(String(call.getAuthContext().sslPeerCertificate?.subject.CN))?.[1] ?? '';
        void testCa().then(async (ca) => {
          const signed = await signCertificateRequest(ca, call.request.csr, {
            allowedIdentity: nodeIdentity(node), validityMs: this.renewedValidityMs, serving: { ipAddresses: ['127.0.0.1'] },
          });
          if (!signed.ok) return done({ code: grpc.status.PERMISSION_DENIED, details: signed.reason });
          done(null, { certificate: signed.value, ca: ca.certificatePem });
        });
      },
    };
    server.addService(loadAgentProto().tide.v1.AgentService.service, handlers);
    this.server = server;
    const ca = await testCa();
    const serving = await issueServerCertificate(ca, { commonName: 'tide-control-plane', ipAddresses: ['127.0.0.1'] });
    const credentials = grpc.ServerCredentials.createSsl(Buffer.from(ca.certificatePem), [{ cert_chain: Buffer.from(serving.certificatePem), private_key: Buffer.from(serving.key.toPem()) }], true);
    return new Promise((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  }

  /** Lifetime of the certificates RenewCertificate signs. */
  renewedValidityMs = 3_600_000;

  stop(): void {
    this.server?.forceShutdown();
  }
}

async function eventually(what: string, check: () => boolean, timeoutMs = 60_000, logs: string[] = []): Promise<void> {
  await waitFor(check, { what, timeoutMs, detail: () => `client log:\n${logs.join('\n')}` });
}

describe('control-plane client', () => {
  const controlPlane = new FakeControlPlane();
  const received: NodeAssignments[] = [];
  const endpoints: PublishedEndpoints[] = [];
  const acknowledged: string[][] = [];
  const logs: string[] = [];
  let client: ControlPlaneClient | undefined;

  after(() => {
    client?.close();
    controlPlane.stop();
  });

  it('registers with capacity and allocatable, receives the desired set, reports, re-registers when forgotten and after an outage', async () => {
    const port = await controlPlane.listen();
    client = new ControlPlaneClient({
      credentials: await nodeCredentials('node-1'),
      address: `127.0.0.1:${port}`,
      registration: {
        nodeName: 'node-1', address: '127.0.1.1', agentPort: 7081, labels: { zone: 'a' },
        capacity: { cpuMillis: 2000, memoryBytes: 4096 }, allocatable: { cpuMillis: 1900, memoryBytes: 4000 },
      },
      onAssignments: (assignments) => received.push(assignments),
      onEndpoints: (message) => endpoints.push(message),
      report: () => ({ nodeName: 'node-1', replicas: [], gone: ['default/old-1'] }),
      onReportAcknowledged: (report) => acknowledged.push(report.gone ?? []),
      log: (line) => logs.push(`${new Date().toISOString()} ${line}`),
    });
    client.start();

    await eventually('the desired set', () => received.length > 0);
    const registration = controlPlane.registrations[0];
    assert.equal(registration.nodeName, 'node-1');
    assert.deepEqual(registration.capacity, { cpuMillis: 2000, memoryBytes: 4096 });
    assert.deepEqual(registration.allocatable, { cpuMillis: 1900, memoryBytes: 4000 });
    assert.deepEqual(registration.labels, { zone: 'a' });
    assert.deepEqual(received[0].replicas.map((r) => [r.name, r.template.image]), [['web-1', 'busybox']]);
    assert.ok(logs.some((line) => line.includes('ignored an assignment message: replicas[0].container')), 'the unreadable set is logged');
    await eventually('the endpoints', () => endpoints.length > 0);
    assert.deepEqual(endpoints[0].ports[0].endpoints[0], { address: '100.64.0.2', port: 8080, replica: 'web-1', nodeName: 'node-1' });
    await eventually('a status report', () => controlPlane.reports.length > 0);
    assert.deepEqual(controlPlane.reports[0].gone, ['default/old-1']);
    await eventually('the report acknowledged', () => acknowledged.length > 0);
    const usage = { nodeName: 'node-1', timestampMs: 1_700_000_000_000, replicas: [
      { namespace: 'default', name: 'web-1', cpuUsageSeconds: 1.25, memoryWorkingSetBytes: 4096, memoryUsageBytes: 8192, startedAt: '2024-01-01T00:00:00.000Z' },
    ], services: [{ namespace: 'default', service: 'web', requestsTotal: 42, countedAtMs: 1_700_000_000_000, latencyCounts: [] }] };
    const session = client.usageSession();
    assert.ok(session !== undefined, 'connected: usage goes over this session');
    assert.deepEqual(await client.reportUsage(usage, session), { holdsFullSet: true });
    assert.deepEqual(controlPlane.usage, [{ ...usage, delta: false, gone: [] }], 'a full report (the wire\'s defaults)');

    controlPlane.known = false; // the control plane lost the node's lease
    await eventually('a second registration', () => controlPlane.registrations.length >= 2);

    controlPlane.stop();
    await eventually('the client to notice the outage', () => !client!.isConnected());
    assert.equal(client.usageSession(), undefined);
    assert.equal(await client.reportUsage(usage, session), undefined, 'no usage is sent while disconnected');
    const before = controlPlane.registrations.length;
    const receivedBefore = received.length;
    const endpointsBefore = endpoints.length;
    await controlPlane.listen(port);
    await eventually('a registration after the outage', () => controlPlane.registrations.length > before, 90_000, logs);
    await eventually('the desired set again', () => received.length > receivedBefore, 60_000, logs);
    await eventually('the endpoints again', () => endpoints.length > endpointsBefore, 60_000, logs);
    assert.notEqual(client.usageSession(), session, 'a new connection: a new usage session');
    assert.equal(await client.reportUsage(usage, session), undefined, 'nothing built against the old session is sent on the new one');
  });

  it('asks for the node list only when it changed, and gives every set the stream\'s last list', async () => {
    const fake = new FakeControlPlane();
    const web = (name: string) => ({ namespace: 'default', name, service: 'web', templateHash: 'h', container: { image: 'busybox' } });
    const peer = { nodeName: 'node-7', address: '198.18.0.7', podCidr: '100.64.7.0/24', agentPort: 7087 };
    fake.sets = [
      { revision: 10, replicas: [web('web-1')], nodes: [peer] },
      { revision: 11, replicas: [web('web-1'), web('web-2')], nodesUnchanged: true },
      { revision: 12, replicas: [web('web-2')], nodes: [] }, // the peer left: an empty list is a list
      { revision: 13, replicas: [web('web-2')], nodesUnchanged: true },
    ];
    const port = await fake.listen();
    const sets: NodeAssignments[] = [];
    const listClient = new ControlPlaneClient({
      credentials: await nodeCredentials('node-6'),
      address: `127.0.0.1:${port}`,
      registration: { nodeName: 'node-6', address: '127.0.1.6', agentPort: 7086, labels: {}, capacity: { cpuMillis: 1, memoryBytes: 1 }, allocatable: { cpuMillis: 1, memoryBytes: 1 } },
      onAssignments: (set) => sets.push(set),
      report: () => ({ nodeName: 'node-6', replicas: [], gone: [] }),
      onReportAcknowledged: () => undefined,
      log: () => undefined,
    });
    try {
      listClient.start();
      await eventually('four sets', () => sets.length >= 4);
      assert.equal(fake.nodesWhenChanged[0], true);
      const node7 = [{ nodeName: 'node-7', address: '198.18.0.7', podCIDR: '100.64.7.0/24', agentPort: 7087 }];
      assert.deepEqual(sets.slice(0, 4).map((set) => [set.revision, set.nodes, 'nodesUnchanged' in set]), [
        [10, node7, false], [11, node7, false], [12, [], false], [13, [], false],
      ]);
    } finally {
      listClient.close();
      fake.stop();
    }
  });

  it('sends its local volumes on the first heartbeat of a session, then only when they changed', async () => {
    const fake = new FakeControlPlane();
    const port = await fake.listen();
    let volumes = [{ namespace: 'shop', name: 'pgdata', sizeBytes: 4096 }];
    const client = new ControlPlaneClient({
      credentials: await nodeCredentials('node-3'),
      address: `127.0.0.1:${port}`,
      registration: { nodeName: 'node-3', address: '127.0.1.3', agentPort: 7083, labels: {}, capacity: { cpuMillis: 1, memoryBytes: 1 }, allocatable: { cpuMillis: 1, memoryBytes: 1 } },
      onAssignments: () => undefined,
      report: () => ({ nodeName: 'node-3', replicas: [], gone: [] }),
      onReportAcknowledged: () => undefined,
      localVolumes: () => volumes,
      log: () => undefined,
    });
    const sent = () => fake.heartbeats.filter((h) => h.localVolumes !== null).map((h) => h.localVolumes!.volumes.map((v) => `${v.name}=${v.sizeBytes}`));
    try {
      client.start();
      await eventually('three heartbeats', () => fake.heartbeats.length >= 3);
      assert.deepEqual(sent(), [['pgdata=4096']], 'sent on the first heartbeat, then acknowledged');
      volumes = [{ namespace: 'shop', name: 'pgdata', sizeBytes: 8192 }];
      await eventually('the new size sent', () => sent().length === 2);
      const after = fake.heartbeats.length;
      await eventually('two more heartbeats', () => fake.heartbeats.length >= after + 2);
      assert.deepEqual(sent(), [['pgdata=4096'], ['pgdata=8192']]);
    } finally {
      client.close();
      fake.stop();
    }
  });

  it('sends its images on registration, and on a heartbeat only when they changed', async () => {
    const fake = new FakeControlPlane();
    const port = await fake.listen();
    let images = ['busybox:latest', 'app:1'];
    const imageClient = new ControlPlaneClient({
      credentials: await nodeCredentials('node-2'),
      address: `127.0.0.1:${port}`,
      registration: { nodeName: 'node-2', address: '127.0.1.2', agentPort: 7082, labels: {}, capacity: { cpuMillis: 1, memoryBytes: 1 }, allocatable: { cpuMillis: 1, memoryBytes: 1 } },
      onAssignments: () => undefined,
      report: () => ({ nodeName: 'node-2', replicas: [], gone: [] }),
      onReportAcknowledged: () => undefined,
      images: async () => images,
      log: () => undefined,
    });
    try {
      imageClient.start();
      await eventually('two heartbeats', () => fake.heartbeats.length >= 2);
      assert.deepEqual(fake.registrations[0].images, ['app:1', 'busybox:latest'], 'sorted, on registration');
      assert.ok(fake.heartbeats.every((h) => h.images === null), 'unchanged images are not sent again');
      images = ['busybox:latest'];
      await eventually('a heartbeat with the new images', () => fake.heartbeats.some((h) => h.images !== null));
      const sent = fake.heartbeats.filter((h) => h.images !== null);
      assert.deepEqual(sent[0].images?.refs, ['busybox:latest']);
      const after = fake.heartbeats.length;
      await eventually('two more heartbeats', () => fake.heartbeats.length >= after + 2);
      assert.equal(fake.heartbeats.filter((h) => h.images !== null).length, 1, 'sent once, then acknowledged');
    } finally {
      imageClient.close();
      fake.stop();
    }
  });

  it('tells when the control plane acknowledged it, with the lease on registration (the isolation fence\'s clock)', async () => {
    const fake = new FakeControlPlane();
    const port = await fake.listen();
    const acks: { sentAt: number; leaseSeconds?: number }[] = [];
    const ackClient = new ControlPlaneClient({
      credentials: await nodeCredentials('node-4'),
      address: `127.0.0.1:${port}`,
      registration: { nodeName: 'node-4', address: '127.0.1.4', agentPort: 7084, labels: {}, capacity: { cpuMillis: 1, memoryBytes: 1 }, allocatable: { cpuMillis: 1, memoryBytes: 1 } },
      onAssignments: () => undefined,
      report: () => ({ nodeName: 'node-4', replicas: [], gone: [] }),
      onReportAcknowledged: () => undefined,
      onAcknowledged: (sentAt, leaseSeconds) => acks.push({ sentAt, ...(leaseSeconds !== undefined ? { leaseSeconds } : {}) }),
      log: () => undefined,
    });
    try {
      const began = performance.now();
      ackClient.start();
      await eventually('the registration and two heartbeats acknowledged', () => acks.length >= 3);
      assert.equal(acks[0].leaseSeconds, 10, 'the registration carries the lease');
      assert.ok(acks[0].sentAt >= began && acks[0].sentAt <= performance.now());
      assert.ok(acks.slice(1).every((a) => a.leaseSeconds === undefined && a.sentAt >= acks[0].sentAt), 'heartbeats: their send time');
    } finally {
      ackClient.close();
      fake.stop();
    }
  });

  it('renews its certificate before it expires, stores it (key 0600), and reconnects with it without a restart', async () => {
    const fake = new FakeControlPlane();
    fake.renewedValidityMs = 3_600_000;
    const port = await fake.listen();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-rotation-'));
    // 6 s of life, renewed at two thirds: about 4 s after it was made.
    const first = await nodeCredentials('node-3', 6000);
    const logs: string[] = [];
    const rotating = new ControlPlaneClient({
      credentials: first, address: `127.0.0.1:${port}`,
      registration: { nodeName: 'node-3', address: '127.0.1.3', agentPort: 7083, labels: {}, capacity: { cpuMillis: 1, memoryBytes: 1 }, allocatable: { cpuMillis: 1, memoryBytes: 1 } },
      onAssignments: () => undefined, report: () => ({ nodeName: 'node-3', replicas: [], gone: [] }), onReportAcknowledged: () => undefined,
      log: (line) => logs.push(line),
    });
    const renewed: NodeCredentials[] = [];
    const stop = rotateNodeCertificate({ nodeName: 'node-3', stateDir, log: (line) => logs.push(line) }, first,
      (csr) => rotating.renewCertificate(csr), (next) => {
        renewed.push(next);
        rotating.useCredentials(next);
      });
    try {
      rotating.start();
      const firstSerial = describeCertificate(first.certificate).serialNumber.toLowerCase();
      await eventually('a registration with the first certificate', () => fake.registeredWith.includes(firstSerial), 60_000, logs);
      await eventually('a renewal', () => renewed.length === 1, 60_000, logs);
      const next = describeCertificate(renewed[0].certificate);
      assert.equal(next.identity.commonName, 'system:node:node-3');
      assert.ok(next.notAfter.getTime() - Date.now() > 30 * 60_000, 'the renewed certificate is the new, longer-lived one');
      await eventually('a registration with the renewed certificate', () => fake.registeredWith.includes(next.serialNumber.toLowerCase()), 60_000, logs);
      assert.equal(fs.statSync(path.join(stateDir, 'pki', 'node.key')).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(path.join(stateDir, 'pki', 'node.crt'), 'utf8'), renewed[0].certificate);
    } finally {
      stop();
      rotating.close();
      fake.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('fences: ignores a control plane of another cluster and sets older than the last applied, across restarts; honours an empty set of its own', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-fence-'));
    const file = path.join(stateDir, 'cluster.json');
    const credentials = await nodeCredentials('node-4');
    const pin = caPin(credentials.ca);
    const web = { namespace: 'default', name: 'web-1', service: 'web', templateHash: 'h', container: { image: 'busybox' } };
    const cluster = new FakeControlPlane();
    cluster.clusterId = 'cluster-a';
    cluster.sets = [{ revision: 40, replicas: [web], clusterId: 'cluster-a' }];
    const port = await cluster.listen();
    const logs: string[] = [];
    const received: NodeAssignments[] = [];
    const refusals = new Set<string>();
    const start = () => {
      const fenced = new ControlPlaneClient({
        credentials, address: `127.0.0.1:${port}`, fence: new ClusterFence(file, pin),
        registration: { nodeName: 'node-4', address: '127.0.1.4', agentPort: 7084, labels: {}, capacity: { cpuMillis: 1, memoryBytes: 1 }, allocatable: { cpuMillis: 1, memoryBytes: 1 } },
        onAssignments: (set) => received.push(set), report: () => ({ nodeName: 'node-4', replicas: [], gone: [] }), onReportAcknowledged: () => undefined,
        log: (line) => logs.push(line), onRefused: (refusal) => refusals.add(refusal),
      });
      fenced.start();
      return fenced;
    };
    let fenced = start();
    let wiped: FakeControlPlane | undefined;
    try {
      await eventually('the cluster\'s set', () => received.length === 1, 60_000, logs);
      assert.equal(cluster.registrations[0].clusterId, '', 'a node that never registered names no cluster');
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { clusterId: 'cluster-a', revision: 40, ca: pin });

      // A control plane on a wiped store takes the address: another identity, and nothing desired.
      cluster.stop();
      wiped = new FakeControlPlane();
      wiped.clusterId = 'cluster-b';
      wiped.sets = [{ revision: 3, replicas: [], clusterId: 'cluster-b' }];
      await wiped.listen(port);
      await eventually('a registration at the wiped control plane', () => wiped!.registrations.length > 0, 90_000, logs);
      assert.equal(wiped.registrations[0].clusterId, 'cluster-a', 'the node says which cluster it belongs to');
      await eventually('the refusal logged', () => logs.some((line) => line.includes('holds cluster cluster-b, this node belongs to cluster cluster-a')), 60_000, logs);
      assert.equal(received.length, 1, 'nothing of the wiped control plane reached the reconciler');
      wiped.stop();

      // The cluster's own control plane, behind (revision 30 < 40), then caught up with an empty set.
      fenced.close();
      cluster.sets = [{ revision: 30, replicas: [], clusterId: 'cluster-a' }, { revision: 30, replicas: [web] }];
      await cluster.listen(port);
      fenced = start(); // an agent restart: the fence comes back from its file
      await eventually('the stale sets refused', () => logs.some((line) => line.includes('empty desired set at revision 30: older than the set applied at revision 40'))
        && logs.some((line) => line.includes('names no cluster identity')), 90_000, logs);
      assert.equal(received.length, 1);
      assert.deepEqual([...refusals].sort(), ['another-cluster', 'no-identity', 'older-revision'], 'each refusal counted by its reason');
      fenced.close();
      cluster.sets = [{ revision: 41, replicas: [], clusterId: 'cluster-a' }];
      fenced = start();
      await eventually('the empty set of the cluster, at a newer revision', () => received.length === 2, 90_000, logs);
      assert.deepEqual(received[1].replicas, []);
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).revision, 41);
    } finally {
      fenced.close();
      cluster.stop();
      wiped?.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
