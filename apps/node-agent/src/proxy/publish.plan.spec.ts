import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PublishedReplica, planPublishedPorts } from './publish.plan';

const web = (name: string, extra: Partial<PublishedReplica> = {}): PublishedReplica => ({
  namespace: 'default', service: 'web', name, network: 'bridge', ip: `100.64.0.${name.slice(-1)}`,
  ports: [{ containerPort: 8080, publish: 18080 }], ...extra,
});

describe('planPublishedPorts', () => {
  it('forwards a published port to every running replica of its service', () => {
    const plan = planPublishedPorts([web('web-2'), web('web-3')], '127.0.1.1');
    assert.deepEqual([...plan.ports], [[18080, { service: 'default/web', targets: [{ host: '100.64.0.2', port: 8080 }, { host: '100.64.0.3', port: 8080 }] }]]);
  });
  it('sends host-network replicas to the node address', () => {
    const plan = planPublishedPorts([web('web-2', { network: 'host', ip: undefined })], '127.0.1.1');
    assert.deepEqual(plan.ports.get(18080)?.targets, [{ host: '127.0.1.1', port: 8080 }]);
  });
  it('publishes nothing for ports without publish, or a bridge replica without an address yet', () => {
    const plan = planPublishedPorts([
      web('web-2', { ports: [{ containerPort: 8080, publish: 0 }] }),
      web('web-3', { ip: undefined }),
    ], '127.0.1.1');
    assert.equal(plan.ports.size, 0);
  });
  it('gives a port two services want to the first by namespace/name and reports the other', () => {
    const api = web('api-4', { service: 'api' });
    const plan = planPublishedPorts([web('web-2'), api], '127.0.1.1');
    assert.equal(plan.ports.get(18080)?.service, 'default/api');
    assert.deepEqual(plan.conflicts, ['port 18080: wanted by default/web and by default/api, which has it']);
  });
  it('publishes each port of a service with several', () => {
    const plan = planPublishedPorts([web('web-2', { ports: [{ containerPort: 80, publish: 18081 }, { containerPort: 443, publish: 18443 }] })], '127.0.1.1');
    assert.deepEqual([...plan.ports.keys()].sort(), [18081, 18443]);
  });
});
