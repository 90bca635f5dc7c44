import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { validateDocument } from './validation';

const HTTP_PORT = { containerPort: 8080, publish: 9000, protocol: 'HTTP' };

function service(autoscale: unknown, spec: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' },
    spec: { image: 'node', resources: { requests: { cpu: '100m' } }, ports: [HTTP_PORT], autoscale, ...spec },
  };
}

describe('spec.autoscale validation', () => {
  it('accepts a full autoscale spec; spec.replicas defaults to minReplicas', () => {
    const result = validateDocument(service({
      minReplicas: 2, maxReplicas: 20, targetCPUUtilizationPercentage: 60, targetRequestsPerSecond: 50, policy: 'tide',
      behavior: { scaleDown: { stabilizationWindowSeconds: 120, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 2, periodSeconds: 30 }] } },
      panic: { windowSeconds: 6, thresholdPercentage: 200 },
      predictive: { horizonSeconds: 120 },
      schedules: [{ name: 'singles-day', cron: '0 0 11 11 *', timeZone: 'Asia/Shanghai', minReplicas: 20, durationSeconds: 7200 }],
    }), 0);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.object.spec.replicas, 2);
    assert.equal(result.object.spec.autoscale?.schedules?.[0].minReplicas, 20);
  });

  it('keeps a given initial count, and starts at 1 without minReplicas', () => {
    const given = validateDocument(service({ minReplicas: 2, maxReplicas: 9, targetCPUUtilizationPercentage: 50 }, { replicas: 5 }), 0);
    assert.ok(given.ok && given.object.spec.replicas === 5);
    const floor = validateDocument(service({ maxReplicas: 9, targetCPUUtilizationPercentage: 50 }), 0);
    assert.ok(floor.ok && floor.object.spec.replicas === 1);
  });

  it('still requires spec.replicas without autoscale', () => {
    const result = validateDocument(service(undefined), 0);
    assert.ok(!result.ok && result.errors.some((e) => e.path === 'spec.replicas' && /required/.test(e.message)));
  });

  // Each bad input names the field a user has to fix.
  const bad: [string, unknown, string, RegExp][] = [
    ['no maxReplicas', service({ targetCPUUtilizationPercentage: 50 }), 'spec.autoscale.maxReplicas', /required/],
    ['min above max', service({ minReplicas: 5, maxReplicas: 3, targetCPUUtilizationPercentage: 50 }), 'spec.autoscale.minReplicas', /must not exceed maxReplicas \(5 > 3\)/],
    ['min 0', service({ minReplicas: 0, maxReplicas: 3, targetCPUUtilizationPercentage: 50 }), 'spec.autoscale.minReplicas', /between 1 and 10000/],
    ['no target', service({ maxReplicas: 3 }), 'spec.autoscale', /needs a target/],
    ['cpu target without a request', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50 }, { resources: undefined }), 'spec.autoscale.targetCPUUtilizationPercentage', /set spec.resources.requests.cpu/],
    ['cpu target 0', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 0 }), 'spec.autoscale.targetCPUUtilizationPercentage', /between 1 and 1000/],
    ['rps target on a TCP port', service({ maxReplicas: 3, targetRequestsPerSecond: 10 }, { ports: [{ containerPort: 8080, publish: 9000 }] }), 'spec.autoscale.targetRequestsPerSecond', /protocol: HTTP/],
    ['rps target -1', service({ maxReplicas: 3, targetRequestsPerSecond: -1 }), 'spec.autoscale.targetRequestsPerSecond', /above 0/],
    ['initial count outside the bounds', service({ minReplicas: 2, maxReplicas: 3, targetCPUUtilizationPercentage: 50 }, { replicas: 7 }), 'spec.replicas', /between minReplicas and maxReplicas \(2-3\)/],
    ['unknown policy', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, policy: 'fast' }), 'spec.autoscale.policy', /one of tide, hpa-default/],
    ['unknown field', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, target: 3 }), 'spec.autoscale.target', /unknown field/],
    ['bad select policy', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, behavior: { scaleUp: { selectPolicy: 'Most' } } }), 'spec.autoscale.behavior.scaleUp.selectPolicy', /Max, Min, Disabled/],
    ['window too long', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, behavior: { scaleDown: { stabilizationWindowSeconds: 7200 } } }), 'spec.autoscale.behavior.scaleDown.stabilizationWindowSeconds', /between 0 and 3600/],
    ['bad policy type', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, behavior: { scaleDown: { policies: [{ type: 'Nodes', value: 1, periodSeconds: 15 }] } } }), 'spec.autoscale.behavior.scaleDown.policies[0].type', /Pods, Percent/],
    ['policy period 0', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 0 }] } } }), 'spec.autoscale.behavior.scaleUp.policies[0].periodSeconds', /between 1 and 1800/],
    ['panic with hpa-default', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, policy: 'hpa-default', panic: {} }), 'spec.autoscale.panic', /no panic mode/],
    ['predictive with hpa-default', service({ maxReplicas: 3, targetRequestsPerSecond: 50, policy: 'hpa-default', predictive: {} }), 'spec.autoscale.predictive', /no predictive mode/],
    ['predictive horizon 0 s', service({ maxReplicas: 3, targetRequestsPerSecond: 50, predictive: { horizonSeconds: 0 } }), 'spec.autoscale.predictive.horizonSeconds', /between 1 and 3600/],
    ['predictive unknown field', service({ maxReplicas: 3, targetRequestsPerSecond: 50, predictive: { days: 7 } }), 'spec.autoscale.predictive.days', /./],
    ['panic threshold 100%', service({ maxReplicas: 3, targetCPUUtilizationPercentage: 50, panic: { thresholdPercentage: 100 } }), 'spec.autoscale.panic.thresholdPercentage', /between 110 and 1000/],
    ['bad cron', service({ maxReplicas: 30, targetCPUUtilizationPercentage: 50, schedules: [{ cron: '0 0 32 11 *', minReplicas: 20, durationSeconds: 3600 }] }), 'spec.autoscale.schedules[0].cron', /day of month: 32 is out of range 1-31/],
    ['cron of 4 fields', service({ maxReplicas: 30, targetCPUUtilizationPercentage: 50, schedules: [{ cron: '0 0 11 11', minReplicas: 20, durationSeconds: 3600 }] }), 'spec.autoscale.schedules[0].cron', /5 fields/],
    ['unknown zone', service({ maxReplicas: 30, targetCPUUtilizationPercentage: 50, schedules: [{ cron: '0 0 11 11 *', timeZone: 'Mars/Olympus', minReplicas: 20, durationSeconds: 3600 }] }), 'spec.autoscale.schedules[0].timeZone', /unknown time zone "Mars\/Olympus"/],
    ['schedule above max', service({ maxReplicas: 10, targetCPUUtilizationPercentage: 50, schedules: [{ cron: '0 0 11 11 *', minReplicas: 20, durationSeconds: 3600 }] }), 'spec.autoscale.schedules[0].minReplicas', /must not exceed maxReplicas \(20 > 10\)/],
    ['schedule without duration', service({ maxReplicas: 30, targetCPUUtilizationPercentage: 50, schedules: [{ cron: '0 0 11 11 *', minReplicas: 20 }] }), 'spec.autoscale.schedules[0].durationSeconds', /integer between 60/],
  ];
  for (const [name, doc, path, message] of bad) {
    it(`refuses ${name} at ${path}`, () => {
      const result = validateDocument(doc, 3);
      assert.ok(!result.ok, 'must be refused');
      const error = result.errors.find((e) => e.path === path);
      assert.ok(error, `no error at ${path}: ${JSON.stringify(result.errors)}`);
      assert.match(error.message, message);
      assert.equal(error.document, 3);
    });
  }
});
