import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PublishProtocol, ServiceEndpoints } from '@tide/api';
import { planPublishedPorts } from './publish.plan';

const port = (service: string, publish: number, protocol: PublishProtocol, ...replicas: [string, string][]): ServiceEndpoints => ({
  namespace: 'default', service, publish, protocol,
  endpoints: replicas.map(([replica, nodeName], i) => ({ address: `100.64.0.${i + 2}`, port: 8080, replica, nodeName })),
});

const everyoneReady = { node: 'node-1', isReady: () => true };

describe('planPublishedPorts', () => {
  it('sends each published port to the ready replicas of every node, in the port\'s protocol', () => {
    const plan = planPublishedPorts([port('web', 18080, 'HTTP', ['web-a', 'node-1'], ['web-b', 'node-2'])], everyoneReady);
    assert.deepEqual([...plan.ports], [[18080, {
      service: 'default/web', protocol: 'HTTP',
      targets: [{ host: '100.64.0.2', port: 8080, replica: 'web-a' }, { host: '100.64.0.3', port: 8080, replica: 'web-b' }],
    }]]);
  });

  it('leaves out a local replica the agent no longer counts ready, before the control plane says so', () => {
    const local = { node: 'node-1', isReady: (key: string) => key !== 'default/web-a' };
    const plan = planPublishedPorts([port('web', 18080, 'HTTP', ['web-a', 'node-1'], ['web-c', 'node-1'], ['web-a', 'node-2'])], local);
    assert.deepEqual(plan.ports.get(18080)?.targets.map((t) => t.replica), ['web-c', 'web-a'], 'the same name on another node is not ours');
  });

  it('keeps a port with no ready replica (the balancer answers 503)', () => {
    const plan = planPublishedPorts([port('db', 15432, 'TCP'), port('web', 15433, 'HTTP')], everyoneReady);
    assert.deepEqual([...plan.ports.values()].map((p) => [p.protocol, p.targets.length]), [['TCP', 0], ['HTTP', 0]]);
  });

  it('gives a port two services want to the first by namespace/name and reports the other', () => {
    const plan = planPublishedPorts([port('web', 18080, 'HTTP'), port('api', 18080, 'TCP')], everyoneReady);
    assert.equal(plan.ports.get(18080)?.service, 'default/api');
    assert.deepEqual(plan.conflicts, ['port 18080: wanted by default/web and by default/api, which has it']);
  });
});
