import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ServiceAddress } from '@tide/api';
import { planServiceIps } from './service-ip.plan';
import { chainRestoreText, jumpRules, serviceIpNode } from './service-ip.rules';

const web: ServiceAddress = {
  namespace: 'shop', service: 'web', ip: '100.96.0.1', ports: [
    { name: 'http', port: 80, protocol: 'HTTP', endpoints: [
      { address: '100.64.0.2', port: 8080, replica: 'web-a', nodeName: 'node-1' },
      { address: '100.64.1.2', port: 8080, replica: 'web-b', nodeName: 'node-2' },
    ] },
    { port: 9090, protocol: 'TCP', endpoints: [] },
  ],
};

describe('planServiceIps', () => {
  it('makes one listener per IP and port, with every node\'s ready replicas, dropping local ones the agent knows are not ready', () => {
    const plans = planServiceIps([web], { node: 'node-1', isReady: () => false });
    assert.deepEqual([...plans.keys()], ['100.96.0.1:80', '100.96.0.1:9090']);
    assert.deepEqual(plans.get('100.96.0.1:80'), {
      ip: '100.96.0.1', port: 80, service: 'shop/web', protocol: 'HTTP', targets: [{ host: '100.64.1.2', port: 8080, replica: 'web-b' }],
    });
    assert.equal(planServiceIps([web], { node: 'node-1', isReady: (key) => key === 'shop/web-a' }).get('100.96.0.1:80')!.targets.length, 2);
    assert.deepEqual(plans.get('100.96.0.1:9090')!.targets, [], 'a port with no ready replica is still served (and refuses work)');
  });
});

describe('service IP rules', () => {
  it('names the chain, tag and route metric after the state dir, stable and distinct per node', () => {
    const one = serviceIpNode('/var/lib/tide/nodes/node-1');
    assert.deepEqual(serviceIpNode('/var/lib/tide/nodes/node-1'), one);
    assert.notEqual(serviceIpNode('/var/lib/tide/nodes/node-2').chain, one.chain);
    assert.match(one.chain, /^TIDE-SVC-[0-9a-f]{10}$/);
    assert.ok(one.chain.length <= 28, 'iptables chain names are at most 28 characters');
  });

  it('writes the chain as iptables-restore input: every (IP, port) to the balancer\'s port on the bridge address', () => {
    const text = chainRestoreText('TIDE-SVC-x', '100.64.0.1', [{ ip: '100.96.0.2', port: 53, localPort: 40001 }, { ip: '100.96.0.1', port: 80, localPort: 40000 }]);
    assert.equal(text, [
      '*nat', ':TIDE-SVC-x - [0:0]', '-F TIDE-SVC-x',
      '-A TIDE-SVC-x -d 100.96.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 100.64.0.1:40000',
      '-A TIDE-SVC-x -d 100.96.0.2/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 100.64.0.1:40001',
      'COMMIT', '',
    ].join('\n'));
  });

  it('jumps to the chain from the node\'s bridge (its containers) and from the host\'s own connections, for the service range only', () => {
    const node = { chain: 'TIDE-SVC-x', tag: 'tide-svc:x', metric: 2000 };
    assert.deepEqual(jumpRules(node, 'tidebr', '100.96.0.0/16'), [
      '-A PREROUTING -d 100.96.0.0/16 -i tidebr -m comment --comment tide-svc:x -j TIDE-SVC-x',
      '-A OUTPUT -d 100.96.0.0/16 -m comment --comment tide-svc:x -j TIDE-SVC-x',
    ]);
  });
});
