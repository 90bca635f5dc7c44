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
      // answered by latency: 3 within (0.005, 0.01], one within (0.1, 0.25], one within (0.5, 1]; none above 10 s
      { namespace: 'shop', service: 'web', requests: 7, latencyCounts: [0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0] },
      { namespace: 'default', service: 'api', requests: 1, latencyCounts: new Array(15).fill(0) },
    ]);
  });

  it('counts an answer slower than the last bound in the bucket above it', () => {
    const metrics = new BalancerMetrics();
    metrics.service('shop/web').request(504, 30);
    assert.deepEqual(metrics.serviceRequests()[0].latencyCounts, [...new Array(14).fill(0), 1]);
  });

  it('reports the balancer process\'s counts in the agent, fetched over the channel', async () => {
    const balancerProcess = new BalancerMetrics();
    const web = balancerProcess.service('shop/web');
    web.arrived += 7;
    for (let i = 0; i < 6; i++) web.request(200, 0.01);
    web.request(503, 0.2);
    const agent = new BalancerMetrics({ traffic: async () => balancerProcess.snapshots() });
    assert.deepEqual(agent.serviceRequests(), [], 'nothing before the first fetch');
    await agent.refresh();
    // 7 arrived; answered: 6 within (0.005, 0.01], the 503 within (0.1, 0.25]
    assert.deepEqual(agent.serviceRequests(), [
      { namespace: 'shop', service: 'web', requests: 7, latencyCounts: [0, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0] },
    ]);
  });
});
