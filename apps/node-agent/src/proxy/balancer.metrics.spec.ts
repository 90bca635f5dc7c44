import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ABORTED, BalancerMetrics } from './balancer.metrics';

describe('balancer request counters for the autoscaler', () => {
  it('counts every request a service\'s ports took, whatever the answer, per service', () => {
    const metrics = new BalancerMetrics();
    const web = metrics.service('shop/web');
    for (let i = 0; i < 3; i++) web.request(200, 0.01);
    web.request(503, 0.2);
    web.request(ABORTED, 1);
    metrics.service('default/api').request(200, 0.001);
    assert.deepEqual(metrics.serviceRequests(), [
      { namespace: 'shop', service: 'web', requests: 5 },
      { namespace: 'default', service: 'api', requests: 1 },
    ]);
  });
});
