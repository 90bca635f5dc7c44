import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ABORTED, BalancerMetrics } from './balancer.metrics';

describe('balancer request counters for the autoscaler', () => {
  it('counts every request a service\'s ports took as it arrives, whatever the answer and before it, per service', () => {
    const metrics = new BalancerMetrics();
    const web = metrics.service('shop/web');
    web.arrived += 7; // 3 answered 200, one 503, one cut short, two still waiting in the queue
    for (let i = 0; i < 3; i++) web.request(200, 0.01);
    web.request(503, 0.2);
    web.request(ABORTED, 1);
    metrics.service('default/api').arrived++;
    assert.deepEqual(metrics.serviceRequests(), [
      { namespace: 'shop', service: 'web', requests: 7 },
      { namespace: 'default', service: 'api', requests: 1 },
    ]);
  });
});
