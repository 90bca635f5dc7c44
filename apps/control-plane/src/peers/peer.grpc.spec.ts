/**
 * The peer endpoint over real mutual TLS and a real etcd: another control plane's certificate may
 * forward usage (recorded, never forwarded again), a node's may not, and a control plane's may not
 * act as an agent; the forwarder's reports reach a peer through peer.client.ts.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_NODE_CIDR_MASK_SIZE, NodeUsageReport } from '@tide/api';
import { controlPlaneIdentity, issueClientCertificate } from '@tide/pki';
import { ClusterCache, NodeLeases, ObjectStore, PodCidrClaims } from '@tide/store';
import { TestEtcd, freePort, startTestEtcd } from '@tide/store/testing';
import { AgentGrpcServer } from '../agent-service/agent.grpc';
import { EventRecorder } from '../controllers/events.recorder';
import { EndpointsPublisher } from '../endpoints/endpoints.publisher';
import { PodCidrAllocator } from '../network/pod-cidr.allocator';
import { AgentTestPki, agentTestPki } from '../testing/agent.pki';
import { AgentCredentials, TestAgentClient } from '../testing/test-agent.grpc';
import { UsageCache } from '../usage/usage.cache';
import { PeerLink } from '../usage/usage.forwarder';
import { PeerClients } from './peer.client';

const sample = (cpu: number) => ({ namespace: 'default', name: 'web-1', cpuUsageSeconds: cpu, memoryWorkingSetBytes: 100, memoryUsageBytes: 200, startedAt: '2026-01-01T00:00:00.000Z' });
const report = (node: string, atMs: number, cpu: number, delta = false): NodeUsageReport =>
  ({ nodeName: node, timestampMs: atMs, replicas: [sample(cpu)], services: [], ...(delta ? { delta: true, gone: [] } : {}) });

async function refusedWith(code: grpc.status, work: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(work, (error: grpc.ServiceError) => {
    assert.equal(error.code, code, error.details);
    assert.match(error.details, reason);
    return true;
  });
}

describe('peer endpoint (mTLS)', { timeout: 120_000 }, () => {
  let etcd: TestEtcd;
  let cache: ClusterCache;
  let server: AgentGrpcServer;
  let leases: NodeLeases;
  let pki: AgentTestPki;
  let address = '';
  let controlPlane: AgentCredentials;
  const usage = new UsageCache();
  /** What this instance forwarded to its own peers. */
  const forwarded: string[] = [];
  /** tide_usage_reports_total's increments, by source. */
  const counted: string[] = [];
  const links: PeerLink[] = [];
  const agents: TestAgentClient[] = [];
  /** A peer link as the forwarder gets one, with the given certificate. */
  const peerLink = (credentials: AgentCredentials) => {
    const link = new PeerClients({ ca: credentials.ca, certificate: credentials.certificate!, key: credentials.key! }).connect({ id: 'test', address });
    links.push(link);
    return link;
  };
  const agent = (credentials: AgentCredentials) => {
    const made = new TestAgentClient(address, credentials);
    agents.push(made);
    return made;
  };

  before(async () => {
    etcd = await startTestEtcd();
    const store = new ObjectStore(etcd.client);
    cache = new ClusterCache(etcd.client);
    await cache.start();
    leases = new NodeLeases(etcd.client, 10);
    pki = await agentTestPki(etcd.client, cache);
    server = new AgentGrpcServer({
      store, cache, leases, events: new EventRecorder(store, 'test'), podCidrs: new PodCidrAllocator('100.64.0.0/16', new PodCidrClaims(etcd.client), DEFAULT_NODE_CIDR_MASK_SIZE),
      heartbeatIntervalMs: 1000, endpoints: new EndpointsPublisher(cache), enrollment: pki.enrollment, clusterId: 'cluster-a', usage,
      forwarder: { forward: (r) => forwarded.push(`${r.nodeName}@${r.timestampMs}`) }, usageReports: { inc: ({ source }) => counted.push(source) },
    });
    address = `127.0.0.1:${await freePort()}`;
    await server.listen(address, pki.server);
    const issued = await issueClientCertificate(pki.ca, controlPlaneIdentity());
    controlPlane = { ca: pki.ca.certificatePem, certificate: issued.certificatePem, key: issued.key.toPem() };
  });
  after(async () => {
    for (const link of links) link.close();
    for (const made of agents) made.close();
    await server?.close();
    leases?.close();
    await cache?.stop();
    await etcd?.stop();
  });

  it('records what another control plane forwards, deltas on the set it holds, and forwards none of it again', async () => {
    const peer = peerLink(controlPlane);
    const at = Date.now();
    assert.deepEqual(await peer.forward(report('node-9', at, 1, true)), { holdsFullSet: false }, 'a delta with no set: send the full one');
    assert.deepEqual(await peer.forward(report('node-9', at + 1000, 1)), { holdsFullSet: true });
    assert.deepEqual(await peer.forward(report('node-9', at + 2000, 1.5, true)), { holdsFullSet: true });
    assert.deepEqual(usage.replicaUsage().map((u) => [u.node, u.name, u.cpuCores]), [['node-9', 'web-1', 0.5]]);
    assert.deepEqual(forwarded, [], 'a forwarded report is not sent on (no loops)');

    const one = agent(await pki.node('node-1'));
    assert.deepEqual(await one.reportUsage(report('node-1', at, 2, true)), { holdsFullSet: false });
    assert.deepEqual(await one.reportUsage(report('node-1', at + 1000, 2)), { holdsFullSet: true });
    assert.deepEqual(forwarded, [`node-1@${at + 1000}`], 'an agent\'s report is forwarded once recorded; the refused delta is not');
    assert.deepEqual(counted, ['peer', 'peer', 'agent'], 'the reports recorded, by where they came from');
  });

  it('refuses a node\'s certificate on the peer endpoint, and a control plane\'s on the agent endpoint', async () => {
    const node = await pki.node('node-2');
    await refusedWith(grpc.status.PERMISSION_DENIED, peerLink(node).forward(report('node-2', Date.now(), 1)),
      /^system:node:node-2 may not call the peer endpoint: it serves the cluster's other control planes only/);
    assert.equal(usage.nodeUsage().some((n) => n.node === 'node-2'), false, 'nothing recorded');

    const asAgent = agent(controlPlane);
    const onlyNodes = /^only a node certificate may call the agent endpoint$/;
    await refusedWith(grpc.status.PERMISSION_DENIED, asAgent.heartbeat({ nodeName: 'node-1' }), onlyNodes);
    await refusedWith(grpc.status.PERMISSION_DENIED, asAgent.reportUsage(report('node-1', Date.now(), 1)), onlyNodes);
    await refusedWith(grpc.status.PERMISSION_DENIED, asAgent.register({
      nodeName: 'node-1', address: '198.18.0.1', agentPort: 7081, capacity: { cpuMillis: 1000, memoryBytes: 2 ** 30 },
      allocatable: { cpuMillis: 1000, memoryBytes: 2 ** 30 }, labels: {}, images: [],
    }), onlyNodes);
  });

  it('names the field of a report it cannot take', async () => {
    const peer = peerLink(controlPlane);
    await refusedWith(grpc.status.INVALID_ARGUMENT, peer.forward(report('Node_1', Date.now(), 1)), /^node_name "Node_1": not a node name/);
    await refusedWith(grpc.status.INVALID_ARGUMENT, peer.forward(report('node-1', 0, 1)), /^timestamp_ms 0: must be the agent's sample time/);
  });
});
