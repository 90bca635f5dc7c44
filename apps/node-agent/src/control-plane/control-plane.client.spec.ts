import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { NodeAssignments, PublishedEndpoints } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import {
  AgentServiceHandlers, HeartbeatRequest__Output, RegisterRequest__Output, StatusReport__Output,
  UsageReport__Output, loadAgentProto,
} from '@tide/proto';
import { ControlPlaneClient } from './control-plane.client';

/** A control plane that records what the agent sends and answers as told. */
class FakeControlPlane {
  readonly registrations: RegisterRequest__Output[] = [];
  readonly reports: StatusReport__Output[] = [];
  readonly usage: UsageReport__Output[] = [];
  readonly heartbeats: HeartbeatRequest__Output[] = [];
  known = true;
  private server?: grpc.Server;

  async listen(port = 0): Promise<number> {
    const server = new grpc.Server();
    const handlers: AgentServiceHandlers = {
      Register: (call, done) => {
        this.registrations.push(call.request);
        this.known = true;
        done(null, { leaseTtlSeconds: 10, heartbeatIntervalMs: 200 });
      },
      Heartbeat: (call, done) => {
        this.heartbeats.push(call.request);
        done(null, { known: this.known });
      },
      WatchAssignments: (call) => {
        // One the agent cannot read (no container) is skipped; it keeps what it had until the next.
        call.write({ revision: 6, replicas: [{ namespace: 'default', name: 'broken-1', service: 'broken', templateHash: 'h' }] });
        call.write({ revision: 7, replicas: [{ namespace: 'default', name: 'web-1', service: 'web', templateHash: 'h', container: { image: 'busybox' } }] });
      },
      ReportStatus: (call, done) => {
        this.reports.push(call.request);
        done(null, {});
      },
      ReportUsage: (call, done) => {
        this.usage.push(call.request);
        done(null, {});
      },
      WatchEndpoints: (call) => {
        call.write({ revision: 7, ports: [{ namespace: 'default', service: 'web', publish: 18080, protocol: 'HTTP', endpoints: [{ address: '100.64.0.2', port: 8080, replica: 'web-1', nodeName: 'node-1' }] }] });
      },
    };
    server.addService(loadAgentProto().tide.v1.AgentService.service, handlers);
    this.server = server;
    return new Promise((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  }

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
    ], services: [{ namespace: 'default', service: 'web', requestsTotal: 42 }] };
    assert.equal(await client.reportUsage(usage), true);
    assert.deepEqual(controlPlane.usage, [usage]);

    controlPlane.known = false; // the control plane lost the node's lease
    await eventually('a second registration', () => controlPlane.registrations.length >= 2);

    controlPlane.stop();
    await eventually('the client to notice the outage', () => !client!.isConnected());
    assert.equal(await client.reportUsage(usage), false, 'no usage is sent while disconnected');
    const before = controlPlane.registrations.length;
    const receivedBefore = received.length;
    const endpointsBefore = endpoints.length;
    await controlPlane.listen(port);
    await eventually('a registration after the outage', () => controlPlane.registrations.length > before, 90_000, logs);
    await eventually('the desired set again', () => received.length > receivedBefore, 60_000, logs);
    await eventually('the endpoints again', () => endpoints.length > endpointsBefore, 60_000, logs);
  });

  it('sends its images on registration, and on a heartbeat only when they changed', async () => {
    const fake = new FakeControlPlane();
    const port = await fake.listen();
    let images = ['busybox:latest', 'app:1'];
    const imageClient = new ControlPlaneClient({
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
});
