import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { replicaTemplate, templateHash } from './template';
import { Service } from './types';
import { validateDocument } from './validation';

function service(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' }, spec: { replicas: 2, image: 'node', ...spec } };
}

describe('probes validation', () => {
  it('accepts the three handlers and the three kinds', () => {
    const result = validateDocument(service({
      ports: [{ name: 'http', containerPort: 8080 }],
      probes: {
        readiness: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1, successThreshold: 2 },
        liveness: { tcpSocket: { port: 8080 }, failureThreshold: 5 },
        startup: { exec: { command: ['cat', '/tmp/started'] }, initialDelaySeconds: 2 },
      },
    }), 0);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  });

  // Each bad probe names the field a user has to fix.
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['no handler', { readiness: { periodSeconds: 1 } }, 'spec.probes.readiness', /exactly one of httpGet, tcpSocket, exec$/],
    ['two handlers', { liveness: { httpGet: { port: 80 }, tcpSocket: { port: 80 } } }, 'spec.probes.liveness', /got httpGet and tcpSocket/],
    ['unknown kind', { ready: { tcpSocket: { port: 80 } } }, 'spec.probes.ready', /unknown field \(known: readiness, liveness, startup\)/],
    ['port out of range', { readiness: { tcpSocket: { port: 0 } } }, 'spec.probes.readiness.tcpSocket.port', /between 1 and 65535/],
    ['unknown port name', { readiness: { httpGet: { port: 'web' } } }, 'spec.probes.readiness.httpGet.port', /"web" names none of spec.ports/],
    ['missing port', { readiness: { httpGet: { path: '/' } } }, 'spec.probes.readiness.httpGet.port', /required/],
    ['relative path', { readiness: { httpGet: { path: 'healthz', port: 80 } } }, 'spec.probes.readiness.httpGet.path', /must start with \//],
    ['empty command', { liveness: { exec: { command: [] } } }, 'spec.probes.liveness.exec.command', /required/],
    ['zero period', { readiness: { tcpSocket: { port: 80 }, periodSeconds: 0 } }, 'spec.probes.readiness.periodSeconds', /between 1 and 3600/],
    ['negative delay', { readiness: { tcpSocket: { port: 80 }, initialDelaySeconds: -1 } }, 'spec.probes.readiness.initialDelaySeconds', /between 0 and 3600/],
    ['liveness success threshold 2', { liveness: { tcpSocket: { port: 80 }, successThreshold: 2 } }, 'spec.probes.liveness.successThreshold', /must be 1 for a liveness probe/],
    ['startup success threshold 3', { startup: { tcpSocket: { port: 80 }, successThreshold: 3 } }, 'spec.probes.startup.successThreshold', /must be 1 for a startup probe/],
    ['unknown probe field', { readiness: { tcpSocket: { port: 80 }, period: 3 } }, 'spec.probes.readiness.period', /unknown field/],
  ];
  for (const [title, probes, path, message] of bad) {
    it(`refuses ${title} at ${path}`, () => {
      const result = validateDocument(service({ probes }), 1);
      assert.ok(!result.ok, 'invalid');
      const error = result.errors.find((e) => e.path === path);
      assert.ok(error, `an error at ${path}, got ${JSON.stringify(result.errors)}`);
      assert.match(error.message, message);
    });
  }
});

describe('probes in the replica template', () => {
  const base: Service = {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, image: 'busybox', command: ['sleep', '9'], network: 'host', resources: { limits: { cpu: '500m', memory: '64Mi' } } },
  };

  it('fills Kubernetes defaults, resolves named ports, and changes the hash', () => {
    const probed: Service = { ...base, spec: { ...base.spec, ports: [{ name: 'http', containerPort: 8080 }], probes: { readiness: { httpGet: { port: 'http' } } } } };
    const template = replicaTemplate(probed);
    assert.deepEqual(template.probes, {
      readiness: { httpGet: { path: '/', port: 8080 }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    });
    assert.notEqual(templateHash(template), templateHash(replicaTemplate({ ...base, spec: { ...base.spec, ports: probed.spec.ports } })));
  });
});
