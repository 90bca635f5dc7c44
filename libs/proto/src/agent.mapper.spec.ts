/** The mapper through the real serializers of each AgentService method: round trips, and the unset rules. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  AssignedTemplate, NodeAssignments, NodeHeartbeat, Service, assignedTemplate, replicaTemplate, NodeRegistration, NodeStatusReport, NodeUsageReport, PublishedEndpoints, ReplicaAssignment,
} from '@tide/api';
import {
  decodeAssignments, decodeEndpoints, decodeHeartbeat, decodeRegistration, decodeRegistrationAnswer, decodeStatusReport, decodeUsageAck, decodeUsageReport,
  encodeAssignments, encodeEndpoints, encodeHeartbeat, encodeRegistration, encodeRegistrationAnswer, encodeStatusReport, encodeUsageAck, encodeUsageReport,
  WireFormatError,
} from './agent.mapper';
import type {
  Assignments, Assignments__Output, ContainerSpec, Endpoints__Output, HeartbeatRequest__Output, RegisterRequest__Output,
  RegisterResponse__Output, StatusReport__Output, UsageAck__Output, UsageReport__Output,
} from './generated/messages';
import { loadAgentProto } from './index';

const service = loadAgentProto().tide.v1.AgentService.service;

/** A message as the receiving side reads it: serialized and deserialized by the method's own functions. */
function overTheWire<T>(method: { serialize: (value: never) => Buffer; deserialize: (bytes: Buffer) => unknown }, message: unknown): T {
  return method.deserialize(method.serialize(message as never)) as T;
}
const assignmentsWire = { serialize: service.WatchAssignments.responseSerialize, deserialize: service.WatchAssignments.responseDeserialize };
const endpointsWire = { serialize: service.WatchEndpoints.responseSerialize, deserialize: service.WatchEndpoints.responseDeserialize };
const statusWire = { serialize: service.ReportStatus.requestSerialize, deserialize: service.ReportStatus.requestDeserialize };
const registerWire = { serialize: service.Register.requestSerialize, deserialize: service.Register.requestDeserialize };
const answerWire = { serialize: service.Register.responseSerialize, deserialize: service.Register.responseDeserialize };
const heartbeatWire = { serialize: service.Heartbeat.requestSerialize, deserialize: service.Heartbeat.requestDeserialize };
const usageWire = { serialize: service.ReportUsage.requestSerialize, deserialize: service.ReportUsage.requestDeserialize };
const usageAckWire = { serialize: service.ReportUsage.responseSerialize, deserialize: service.ReportUsage.responseDeserialize };

const full: AssignedTemplate = {
  image: 'shop:2', command: ['node'], args: ['server.js'], env: { PORT: '8080' }, workingDir: '/app',
  requests: { cpuMillis: 250, memoryBytes: 128 * 2 ** 20 }, limits: { cpuMillis: 500, memoryBytes: 256 * 2 ** 20, pids: 64 },
  ports: [{ name: 'http', containerPort: 8080, publish: 18080 }, { containerPort: 9090 }],
  network: 'bridge', restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 0, user: 'app:staff', readOnlyRootFilesystem: true, stdin: true, tty: true,
  probes: {
    readiness: { httpGet: { path: '/ready', port: 8080 }, initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 2, failureThreshold: 3 },
    liveness: { exec: { command: ['true'] }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
  },
};
const minimal: AssignedTemplate = {
  image: 'busybox', command: [], args: [], env: {}, requests: { cpuMillis: 100, memoryBytes: 64 * 2 ** 20 }, limits: {}, ports: [],
  network: 'host', restartPolicy: 'Always', terminationGracePeriodSeconds: 30,
};
const replica = (name: string, template: AssignedTemplate): ReplicaAssignment => ({ namespace: 'shop', name, service: 'web', templateHash: 'abc123', template });

function decodedContainer(container: ContainerSpec): AssignedTemplate {
  const message: Assignments = { replicas: [{ namespace: 'd', name: 'a', service: 'a', templateHash: 'h', container }], revision: 1 };
  return decodeAssignments(overTheWire<Assignments__Output>(assignmentsWire, message)).replicas[0].template;
}

describe('agent mapper: assignments', () => {
  it('round-trips the desired state, every field set and none', () => {
    const sent: NodeAssignments = {
      replicas: [{ ...replica('web-1', full), paused: true }, replica('web-2', minimal)], revision: 42,
      nodes: [{ nodeName: 'node-2', address: '198.18.0.2', podCIDR: '100.64.2.0/24' }], clusterId: 'c0ffee',
    };
    assert.deepEqual(decodeAssignments(overTheWire(assignmentsWire, encodeAssignments(sent))), sent);
  });

  it('carries what a Service\'s replicas run, as replicaTemplate makes it', () => {
    const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: {
      replicas: 3, image: 'shop:2', command: ['node'], env: { A: '1' }, workingDir: '/app', user: '1000:1000', readOnlyRootFilesystem: true,
      securityContext: { seccompProfile: { type: 'Unconfined' } },
      resources: { requests: { cpu: '250m' }, limits: { cpu: '1', memory: '256Mi', pids: 100, 'ephemeral-storage': '1Gi' } }, network: 'host', restartPolicy: 'OnFailure',
      ports: [{ name: 'http', containerPort: 8080, publish: 18080, protocol: 'HTTP' }], placement: { nodeSelector: { zone: 'a' }, maxSkew: 2 },
      probes: { startup: { tcpSocket: { port: 'http' } }, readiness: { httpGet: { port: 8080 } }, liveness: { exec: { command: ['true'] }, failureThreshold: 5 } },
    } };
    const template = assignedTemplate(replicaTemplate(service));
    const sent: NodeAssignments = { replicas: [replica('web-1', template), replica('web-2', assignedTemplate(replicaTemplate({ ...service, spec: { replicas: 1, image: 'busybox' } })))], revision: 3, nodes: [] };
    assert.deepEqual(decodeAssignments(overTheWire(assignmentsWire, encodeAssignments(sent))), sent);
  });

  it('carries the config references and each object\'s bytes; a mode of 0 stays a mode', () => {
    const configured: AssignedTemplate = {
      ...minimal,
      envRefs: { PASSWORD: { secretKeyRef: { name: 'db', key: 'password' } }, LEVEL: { configMapKeyRef: { name: 'web', key: 'level', optional: true } } },
      envFrom: [{ configMapRef: { name: 'web' }, prefix: 'APP_' }, { secretRef: { name: 'db', optional: true } }],
      volumes: [
        { name: 'conf', configMap: { name: 'web', items: [{ key: 'a', path: 'x/a', mode: 0 }], defaultMode: 0o640 } },
        { name: 'tls', secret: { secretName: 'tls', optional: true } },
      ],
      volumeMounts: [{ name: 'conf', mountPath: '/etc/web', readOnly: true }, { name: 'tls', mountPath: '/etc/tls/key', subPath: 'tls.key' }],
    };
    const sent: NodeAssignments = {
      replicas: [replica('web-1', configured)], revision: 9, nodes: [],
      configs: [{ kind: 'Secret', namespace: 'shop', name: 'db', version: '12', data: { password: Buffer.from([0, 255, 10]) } }],
    };
    assert.deepEqual(decodeAssignments(overTheWire(assignmentsWire, encodeAssignments(sent))), sent);
  });

  it('carries every volume source: emptyDir (an empty one too), hostPath, localVolume, with mounts readOnly and subPath', () => {
    const withVolumes: AssignedTemplate = {
      ...minimal,
      volumes: [
        { name: 'tmp', emptyDir: {} }, { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }, { name: 'n', emptyDir: { sizeLimit: 1024 } },
        { name: 'logs', hostPath: { path: '/var/log/web', type: 'DirectoryOrCreate' } }, { name: 'root', hostPath: { path: '/srv' } },
        { name: 'data', localVolume: { name: 'pgdata' } },
      ],
      volumeMounts: [{ name: 'data', mountPath: '/var/lib/db', subPath: 'main' }, { name: 'logs', mountPath: '/logs', readOnly: true }],
    };
    const sent: NodeAssignments = { replicas: [replica('db-1', withVolumes)], revision: 4, nodes: [] };
    const read = decodeAssignments(overTheWire(assignmentsWire, encodeAssignments(sent)));
    // A number as sizeLimit travels as its text: the same quantity.
    assert.deepEqual(read.replicas[0].template.volumes, withVolumes.volumes!.map((v) => (v.name === 'n' ? { name: 'n', emptyDir: { sizeLimit: '1024' } } : v)));
    assert.deepEqual(read.replicas[0].template.volumeMounts, withVolumes.volumeMounts);
  });

  it('sends 0, "" and false for what is unset, and reads them back as unset', () => {
    const encoded = encodeAssignments({ replicas: [replica('web-1', minimal)], revision: 1, nodes: [] }).replicas![0].container!;
    assert.deepEqual([encoded.cpuLimitMillis, encoded.memoryLimitBytes, encoded.pidsLimit, encoded.workingDir, encoded.user, encoded.readOnlyRootFilesystem],
      [0, 0, 0, '', '', false]);
    const read = decodedContainer({ ...encoded, ports: [{ name: '', containerPort: 80, publish: 0 }] });
    assert.deepEqual(read.limits, {});
    assert.deepEqual(read.ports, [{ containerPort: 80 }]);
    assert.equal(encoded.seccompUnconfined, false);
    for (const field of ['workingDir', 'user', 'readOnlyRootFilesystem', 'seccompProfile', 'probes'] as const) assert.ok(!(field in read), `${field} is absent`);
  });

  it('reads an empty network as host, and an unknown restart policy as Always', () => {
    assert.equal(decodedContainer({ image: 'a', network: '' }).network, 'host');
    assert.equal(decodedContainer({ image: 'a', network: 'bridge' }).network, 'bridge');
    assert.deepEqual(['Always', 'OnFailure', 'Never', '', 'bogus'].map((restartPolicy) => decodedContainer({ image: 'a', restartPolicy }).restartPolicy),
      ['Always', 'OnFailure', 'Never', 'Always', 'Always']);
  });

  it('fills a probe\'s unset numbers with the defaults and its empty path with /, and drops an empty probe set', () => {
    const read = decodedContainer({ image: 'a', probes: { readiness: { httpGet: { path: '', port: 8080 } } } });
    assert.deepEqual(read.probes, { readiness: {
      httpGet: { path: '/', port: 8080 }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
    } });
    assert.equal(decodedContainer({ image: 'a', probes: {} }).probes, undefined, 'a set with no probe is no probes: ready once running');
  });

  it('refuses an assignment without a container, naming it', () => {
    const message = overTheWire<Assignments__Output>(assignmentsWire, { replicas: [{ name: 'ok', container: { image: 'a' } }, { namespace: 'shop', name: 'web-2' }] });
    assert.throws(() => decodeAssignments(message), (error: unknown) =>
      error instanceof WireFormatError && error.field === 'replicas[1].container' && /shop\/web-2/.test(error.message));
  });
});

describe('agent mapper: endpoints', () => {
  it('round-trips the published ports, and reads an unknown protocol as TCP', () => {
    const sent: PublishedEndpoints = { revision: 7, ports: [
      { namespace: 'shop', service: 'web', publish: 18080, protocol: 'HTTP', endpoints: [{ address: '100.64.0.2', port: 8080, replica: 'web-1', nodeName: 'node-1' }] },
      { namespace: 'shop', service: 'db', publish: 15432, protocol: 'TCP', endpoints: [] },
    ], services: [] };
    assert.deepEqual(decodeEndpoints(overTheWire(endpointsWire, encodeEndpoints(sent))), sent);
    const odd = overTheWire<Endpoints__Output>(endpointsWire, { ports: [{ service: 'a', publish: 1, protocol: '' }, { service: 'b', publish: 2, protocol: 'QUIC' }] });
    assert.deepEqual(decodeEndpoints(odd).ports.map((p) => p.protocol), ['TCP', 'TCP']);
  });

  it('round-trips the services\' virtual IPs, a port without a name staying without one', () => {
    const sent: PublishedEndpoints = { revision: 9, ports: [], services: [
      { namespace: 'shop', service: 'web', ip: '100.96.0.1', ports: [
        { name: 'http', port: 80, protocol: 'HTTP', endpoints: [{ address: '100.64.1.2', port: 8080, replica: 'web-1', nodeName: 'node-2' }] },
        { port: 9090, protocol: 'TCP', endpoints: [] },
      ] },
      { namespace: 'shop', service: 'worker', ip: '100.96.0.2', ports: [] },
    ] };
    assert.deepEqual(decodeEndpoints(overTheWire(endpointsWire, encodeEndpoints(sent))), sent);
  });
});

describe('agent mapper: status reports', () => {
  const report: NodeStatusReport = { nodeName: 'node-1', gone: ['shop/web-0'], replicas: [
    { namespace: 'shop', name: 'web-1', phase: 'Running', ready: true, restartCount: 0, pid: 42, ip: '100.64.0.2', startedAt: '2026-01-01T00:00:00.000Z' },
    { namespace: 'shop', name: 'web-2', phase: 'Starting', ready: false, restartCount: 2, message: 'back-off 2 s',
      lastExit: { code: null, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: '2026-01-01T00:00:01.000Z' } },
    { namespace: 'shop', name: 'job-1', phase: 'Succeeded', ready: false, restartCount: 0,
      lastExit: { code: 0, signal: null, reason: 'Completed', finishedAt: '2026-01-01T00:00:02.000Z' } },
  ] };

  it('round-trips every replica, an exit code of 0 included', () => {
    assert.deepEqual(decodeStatusReport(overTheWire(statusWire, encodeStatusReport(report))), report);
  });

  it('sends a signal as no code, and reads an unknown phase as Starting and an exit without reason as none', () => {
    assert.deepEqual(encodeStatusReport(report).replicas![1].lastExit, { hasCode: false, code: 0, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: '2026-01-01T00:00:01.000Z' });
    const odd = overTheWire<StatusReport__Output>(statusWire, { nodeName: 'n', replicas: [{ namespace: 'd', name: 'a', phase: 'Dancing', lastExit: { hasCode: true, code: 1 } }] });
    assert.deepEqual(decodeStatusReport(odd).replicas, [{ namespace: 'd', name: 'a', phase: 'Starting', ready: false, restartCount: 0 }]);
  });
});

describe('agent mapper: registration, heartbeat, usage', () => {
  it('round-trips a registration and its answer; empty CIDRs and a 0 interval are unset', () => {
    const registration: NodeRegistration = {
      nodeName: 'node-1', address: '127.0.1.1', agentPort: 7081, capacity: { cpuMillis: 2000, memoryBytes: 2 ** 31 },
      allocatable: { cpuMillis: 1900, memoryBytes: 2 ** 31 - 2 ** 27 }, labels: { zone: 'a' }, images: ['busybox:latest'], clusterId: 'c0ffee',
    };
    assert.deepEqual(decodeRegistration(overTheWire<RegisterRequest__Output>(registerWire, encodeRegistration(registration))), registration);
    const answer = { leaseTtlSeconds: 10, heartbeatIntervalMs: 3333, podCIDR: '100.64.4.0/22', clusterCIDR: '100.64.0.0/16', podNetwork: 'vxlan' as const, clusterId: 'c0ffee' };
    assert.deepEqual(decodeRegistrationAnswer(overTheWire<RegisterResponse__Output>(answerWire, encodeRegistrationAnswer(answer))), answer);
    assert.deepEqual(decodeRegistrationAnswer(overTheWire<RegisterResponse__Output>(answerWire, encodeRegistrationAnswer({ leaseTtlSeconds: 10 }))), { leaseTtlSeconds: 10 });
  });

  it('tells a heartbeat with no image news from one reporting no images', () => {
    const read = (images?: string[]) => decodeHeartbeat(overTheWire<HeartbeatRequest__Output>(heartbeatWire, encodeHeartbeat({ nodeName: 'n', ...(images ? { images } : {}) })));
    assert.deepEqual(read(), { nodeName: 'n' });
    assert.deepEqual(read([]), { nodeName: 'n', images: [] });
    assert.deepEqual(read(['a:1']), { nodeName: 'n', images: ['a:1'] });
  });

  it('tells a heartbeat with no local-volume news from one reporting none, and carries their sizes', () => {
    const read = (localVolumes?: NodeHeartbeat['localVolumes']) => decodeHeartbeat(overTheWire<HeartbeatRequest__Output>(heartbeatWire, encodeHeartbeat({ nodeName: 'n', ...(localVolumes ? { localVolumes } : {}) })));
    assert.deepEqual(read(), { nodeName: 'n' });
    assert.deepEqual(read([]), { nodeName: 'n', localVolumes: [] });
    const volumes = [{ namespace: 'shop', name: 'pgdata', sizeBytes: 5 * 2 ** 30 }];
    assert.deepEqual(read(volumes), { nodeName: 'n', localVolumes: volumes });
  });

  it('carries the DiskPressure condition on a heartbeat while it holds', () => {
    const diskPressure = { message: 'nodefs.available 1.0Gi (4%) < 10%', sinceMs: 1_700_000_000_123 };
    const sent = encodeHeartbeat({ nodeName: 'n', diskPressure });
    assert.deepEqual(decodeHeartbeat(overTheWire<HeartbeatRequest__Output>(heartbeatWire, sent)), { nodeName: 'n', diskPressure });
  });

  it('round-trips a usage report', () => {
    const usage: NodeUsageReport = {
      nodeName: 'node-1', timestampMs: 1_700_000_000_123,
      replicas: [{ namespace: 'shop', name: 'web-1', cpuUsageSeconds: 12.5, memoryWorkingSetBytes: 3 * 2 ** 20, memoryUsageBytes: 4 * 2 ** 20, startedAt: '2026-01-01T00:00:00.000Z' }],
      services: [{ namespace: 'shop', service: 'web', requestsTotal: 1234, countedAtMs: 1_700_000_000_456, latencyCounts: [0, 3, 1200, 31, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, { namespace: 'shop', service: 'api', requestsTotal: 5 }],
    };
    assert.deepEqual(decodeUsageReport(overTheWire<UsageReport__Output>(usageWire, encodeUsageReport(usage))), usage);
  });

  it('round-trips a delta usage report with its gone replicas', () => {
    const delta: NodeUsageReport = { nodeName: 'node-1', timestampMs: 2000, replicas: [], services: [], delta: true, gone: ['shop/web-2'] };
    assert.deepEqual(decodeUsageReport(overTheWire<UsageReport__Output>(usageWire, encodeUsageReport(delta))), delta);
  });

  it('reads an older control plane\'s empty usage answer as not holding the node\'s set', () => {
    assert.deepEqual(decodeUsageAck(overTheWire<UsageAck__Output>(usageAckWire, {})), { holdsFullSet: false });
    assert.deepEqual(decodeUsageAck(overTheWire<UsageAck__Output>(usageAckWire, encodeUsageAck({ holdsFullSet: true }))), { holdsFullSet: true });
  });
});
