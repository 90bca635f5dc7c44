/**
 * The agents' endpoint over real mutual TLS and a real etcd: a node speaks only as itself, renews
 * its certificate with the current one (both honoured during the rotation), and a revocation ends
 * its open stream and refuses its next call.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_NODE_CIDR_MASK_SIZE, NodeAssignments } from '@tide/api';
import { createCertificateRequest, describeCertificate, nodeIdentity } from '@tide/pki';
import { ClusterCache, NodeLeases, ObjectStore, PodCidrClaims } from '@tide/store';
import { TestEtcd, freePort, startTestEtcd } from '@tide/store/testing';
import { EventRecorder } from '../controllers/events.recorder';
import { EndpointsPublisher } from '../endpoints/endpoints.publisher';
import { PodCidrAllocator } from '../network/pod-cidr.allocator';
import { AgentTestPki, agentTestPki } from '../testing/agent.pki';
import { TestAgentClient } from '../testing/test-agent.grpc';
import { UsageCache } from '../usage/usage.cache';
import { AgentGrpcServer } from './agent.grpc';

const resources = { cpuMillis: 1000, memoryBytes: 2 ** 30 };
const registration = (nodeName: string, address: string) => ({ nodeName, address, agentPort: 7081, capacity: resources, allocatable: resources, labels: {}, images: [] });

async function refusedWith(code: grpc.status, work: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(work, (error: grpc.ServiceError) => {
    assert.equal(error.code, code, error.details);
    assert.match(error.details, reason);
    return true;
  });
}

describe('agent endpoint (mTLS)', { timeout: 120_000 }, () => {
  let etcd: TestEtcd;
  let cache: ClusterCache;
  let server: AgentGrpcServer;
  let leases: NodeLeases;
  let pki: AgentTestPki;
  let address = '';
  const usage = new UsageCache();
  const clients: TestAgentClient[] = [];
  const client = (credentials: ConstructorParameters<typeof TestAgentClient>[1]) => {
    const made = new TestAgentClient(address, credentials);
    clients.push(made);
    return made;
  };

  before(async () => {
    etcd = await startTestEtcd();
    const store = new ObjectStore(etcd.client);
    cache = new ClusterCache(etcd.client);
    await cache.start();
    leases = new NodeLeases(etcd.client, 10);
    pki = await agentTestPki(etcd.client, cache);
    const endpoints = new EndpointsPublisher(cache);
    server = new AgentGrpcServer({
      store, cache, leases, events: new EventRecorder(store, 'test'), podCidrs: new PodCidrAllocator('100.64.0.0/16', new PodCidrClaims(etcd.client), DEFAULT_NODE_CIDR_MASK_SIZE),
      heartbeatIntervalMs: 1000, endpoints, enrollment: pki.enrollment, clusterId: 'cluster-a', usage,
    });
    address = `127.0.0.1:${await freePort()}`;
    await server.listen(address, pki.server);
  });
  after(async () => {
    for (const made of clients) made.close();
    await server?.close();
    leases?.close();
    await cache?.stop();
    await etcd?.stop();
  });

  it('serves a node as itself and refuses it as another node, or without a certificate', async () => {
    const one = client(await pki.node('node-1'));
    const answer = await one.register(registration('node-1', '198.18.0.1'));
    assert.match(answer.podCIDR ?? '', /^100\.64\.\d+\.0\/22$/);
    assert.equal(await one.heartbeat({ nodeName: 'node-1' }), true);
    await refusedWith(grpc.status.PERMISSION_DENIED, one.heartbeat({ nodeName: 'node-2' }), /^node node-1 may not act as node node-2$/);
    await refusedWith(grpc.status.PERMISSION_DENIED, one.reportUsage({ nodeName: 'node-2', timestampMs: Date.now(), replicas: [], services: [] }), /may not act as node node-2/);
    const watch = one.watchAssignments('node-2', () => undefined);
    const ended = await watch.ended;
    assert.equal(ended?.code, grpc.status.PERMISSION_DENIED);
    const bare = client({ ca: pki.ca.certificatePem });
    await assert.rejects(bare.heartbeat({ nodeName: 'node-1' }));
  });

  it('asks for a full usage report until it holds the node\'s set, then takes deltas on it', async () => {
    const one = client(await pki.node('node-1'));
    await one.register(registration('node-1', '198.18.0.1'));
    const sample = { namespace: 'default', name: 'web-1', cpuUsageSeconds: 1, memoryWorkingSetBytes: 100, memoryUsageBytes: 200, startedAt: '2026-01-01T00:00:00.000Z' };
    const at = Date.now();
    assert.deepEqual(await one.reportUsage({ nodeName: 'node-1', timestampMs: at, replicas: [], services: [], delta: true }), { holdsFullSet: false }, 'a delta with no set to apply to');
    assert.deepEqual(await one.reportUsage({ nodeName: 'node-1', timestampMs: at + 1000, replicas: [sample], services: [] }), { holdsFullSet: true });
    assert.deepEqual(await one.reportUsage({ nodeName: 'node-1', timestampMs: at + 2000, replicas: [], services: [], delta: true }), { holdsFullSet: true });
    assert.deepEqual(usage.replicaUsage().map((u) => [u.name, u.cpuCores]), [['web-1', 0]], 'unchanged as of the delta: no CPU used');
  });

  it('renews a certificate over the current one: the new one names the same node, and both work during the rotation', async () => {
    const first = await pki.node('node-3');
    const three = client(first);
    await three.register(registration('node-3', '198.18.0.3'));
    const request = await createCertificateRequest(nodeIdentity('node-3'));
    const renewed = await three.renewCertificate(request.csrPem);
    const info = describeCertificate(renewed.certificate);
    assert.equal(info.identity.commonName, 'system:node:node-3');
    assert.notEqual(info.serialNumber, describeCertificate(first.certificate!).serialNumber);
    await cache.fresh();
    const next = client({ ca: renewed.ca, certificate: renewed.certificate, key: request.key.toPem() });
    assert.equal(await next.heartbeat({ nodeName: 'node-3' }), true);
    assert.equal(await three.heartbeat({ nodeName: 'node-3' }), true, 'the old one still works until the next rotation');
    const forNode4 = await createCertificateRequest(nodeIdentity('node-4'));
    await refusedWith(grpc.status.PERMISSION_DENIED, three.renewCertificate(forNode4.csrPem), /asks for the name "system:node:node-4" but this credential allows only "system:node:node-3"/);
  });

  it('ends the streams of a revoked node and refuses its next call', async () => {
    const five = client(await pki.node('node-5'));
    await five.register(registration('node-5', '198.18.0.5'));
    const received: unknown[] = [];
    const watch = five.watchAssignments('node-5', (message) => received.push(message));
    for (const deadline = Date.now() + 30_000; received.length === 0;) {
      assert.ok(Date.now() < deadline, 'the stream sent its first set');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await pki.enrollment.revoke('node-5'), true);
    await cache.fresh();
    const ended = await watch.ended;
    assert.equal(ended?.code, grpc.status.UNAUTHENTICATED);
    assert.match(ended!.details, /the certificate of node node-5 \(serial [0-9a-f]+\) has been revoked/);
    await refusedWith(grpc.status.UNAUTHENTICATED, five.heartbeat({ nodeName: 'node-5' }), /has been revoked or was never issued by this cluster/);
  });

  it('answers with the cluster identity, sends it with every desired set, and refuses a node of another cluster before writing anything', async () => {
    const six = client(await pki.node('node-6'));
    assert.equal((await six.register(registration('node-6', '198.18.0.6'))).clusterId, 'cluster-a', 'a node that knows no cluster yet learns it');
    assert.equal((await six.register({ ...registration('node-6', '198.18.0.6'), clusterId: 'cluster-a' })).clusterId, 'cluster-a');
    const sets: NodeAssignments[] = [];
    const watch = six.watchAssignments('node-6', (message) => sets.push(message));
    for (const deadline = Date.now() + 30_000; sets.length === 0;) {
      assert.ok(Date.now() < deadline, 'the stream sent its first set');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    watch.cancel();
    assert.equal(sets[0].clusterId, 'cluster-a');
    assert.ok(sets[0].revision > 0);

    const seven = client(await pki.node('node-7'));
    await refusedWith(grpc.status.FAILED_PRECONDITION, seven.register({ ...registration('node-7', '198.18.0.7'), clusterId: 'cluster-z' }),
      /this node belongs to cluster cluster-z and this control plane's store holds cluster cluster-a/);
    await cache.fresh();
    assert.equal(cache.get('Node', 'default', 'node-7'), undefined, 'no Node was written for it');
  });
});
