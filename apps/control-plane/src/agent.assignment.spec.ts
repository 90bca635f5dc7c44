/** What a node agent receives for a replica, through the real proto serialization of the stream. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service, replicaTemplate, templateHash } from '@tide/api';
import { Assignments, Assignments__Output, loadAgentProto } from '@tide/proto';
import { toAssignment } from './agent.grpc';

function replicaOf(spec: Partial<Service['spec']>): Replica {
  const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, image: 'busybox', ...spec } };
  const template = replicaTemplate(service);
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-abcde-xyzzy', namespace: 'default' },
    spec: { service: 'web', templateHash: templateHash(template), template, nodeName: 'node-1' },
    status: { phase: 'Scheduled', ready: false, restartCount: 0 },
  };
}

/** Through the WatchAssignments stream's own serializers, as the agent will read it. */
function overTheWire(message: Assignments): Assignments__Output {
  const method = loadAgentProto().tide.v1.AgentService.service.WatchAssignments;
  return method.responseDeserialize(method.responseSerialize(message)) as Assignments__Output;
}

describe('assignment of a replica', () => {
  it('carries user and readOnlyRootFilesystem to the agent', () => {
    const sent = overTheWire({ replicas: [toAssignment(replicaOf({ user: 'app:staff', readOnlyRootFilesystem: true }))], revision: 1 });
    assert.equal(sent.replicas[0].container?.user, 'app:staff');
    assert.equal(sent.replicas[0].container?.readOnlyRootFilesystem, true);
  });

  it('carries the probes with their defaults, and none when the service declares none', () => {
    const probed = replicaOf({ ports: [{ name: 'http', containerPort: 8080 }], probes: { readiness: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 2 }, liveness: { exec: { command: ['true'] } } } });
    const sent = overTheWire({ replicas: [toAssignment(probed), toAssignment(replicaOf({}))], revision: 1 });
    const probes = sent.replicas[0].container?.probes;
    assert.deepEqual(probes?.readiness?.httpGet, { path: '/ready', port: 8080 });
    assert.equal(probes?.readiness?.periodSeconds, 2);
    assert.equal(probes?.readiness?.failureThreshold, 3);
    assert.deepEqual(probes?.liveness?.exec?.command, ['true']);
    assert.equal(probes?.liveness?.httpGet, null);
    assert.equal(probes?.startup, null);
    assert.equal(sent.replicas[1].container?.probes, null);
  });

  it('sends the proto defaults when the service sets neither (the runtime defaults apply)', () => {
    const sent = overTheWire({ replicas: [toAssignment(replicaOf({}))], revision: 1 });
    assert.equal(sent.replicas[0].container?.user, '');
    assert.equal(sent.replicas[0].container?.readOnlyRootFilesystem, false);
  });
});
