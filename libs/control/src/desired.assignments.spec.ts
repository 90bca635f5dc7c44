import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service, replicaTemplate, templateHash } from '@tide/api';
import { assignmentOf, desiredAssignments } from './desired.assignments';

function replicaOf(name: string, spec: Partial<Service['spec']> = {}, extra: Partial<Replica> = {}): Replica {
  const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, image: 'busybox', ...spec } };
  const template = replicaTemplate(service);
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'default' },
    spec: { service: 'web', templateHash: templateHash(template), template, nodeName: 'node-1' },
    status: { phase: 'Scheduled', ready: false, restartCount: 0 }, ...extra,
  };
}

describe('desired assignments', () => {
  it('tells the agent what the replica runs: user, read-only root, resolved probes; not placement nor port protocols', () => {
    const replica = replicaOf('web-a', {
      user: 'app:staff', readOnlyRootFilesystem: true, placement: { nodeSelector: { zone: 'a' }, maxSkew: 2 },
      ports: [{ name: 'http', containerPort: 8080, publish: 18080, protocol: 'HTTP' }],
      probes: { readiness: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 2 } },
    });
    const { template, ...identity } = assignmentOf(replica);
    assert.deepEqual(identity, { namespace: 'default', name: 'web-a', service: 'web', templateHash: replica.spec.templateHash });
    assert.equal(template.user, 'app:staff');
    assert.equal(template.readOnlyRootFilesystem, true);
    assert.deepEqual(template.ports, [{ name: 'http', containerPort: 8080, publish: 18080 }]);
    assert.deepEqual(template.probes?.readiness, {
      httpGet: { path: '/ready', port: 8080 }, initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
    });
    assert.ok(!('nodeSelector' in template) && !('maxSkew' in template));
  });

  it('sorts by name and leaves out replicas being deleted or lost with their node', () => {
    const replicas = [
      replicaOf('web-c'),
      replicaOf('web-gone', {}, { metadata: { name: 'web-gone', namespace: 'default', deletionTimestamp: '2026-01-01T00:00:00Z' } }),
      replicaOf('web-lost', {}, { status: { phase: 'Failed', ready: false, restartCount: 0, lastExit: { code: null, signal: null, reason: 'NodeLost', finishedAt: '' } } }),
      replicaOf('web-a'),
    ];
    assert.deepEqual(desiredAssignments(replicas).map((a) => a.name), ['web-a', 'web-c']);
  });
});
