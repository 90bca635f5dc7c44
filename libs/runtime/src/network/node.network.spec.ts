/** The pure planning halves of the node's network set-up: which iptables rules and peer routes change. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { bridgeNameFor, bridgeSettings, hostVethNameFor } from './bridge.settings';
import { desiredRules, isLocalAddress, planPeerRoutes, planRules } from './node.network';

describe('bridge and veth names', () => {
  it('fit the kernel\'s 15 characters and differ between nodes and containers', () => {
    const a = bridgeNameFor('/tmp/e2e-1/nodes/node-1');
    const b = bridgeNameFor('/tmp/e2e-2/nodes/node-1'); // same node name, another cluster
    assert.ok(a.length <= 15 && b.length <= 15);
    assert.notEqual(a, b);
    assert.equal(bridgeNameFor('/tmp/e2e-1/nodes/node-1/'), a, 'the same dir written differently');
    const veth = hostVethNameFor('/tmp/e2e-1/nodes/node-1', 'default.web-abcde-x2k4p');
    assert.ok(veth.length <= 15);
    assert.notEqual(veth, hostVethNameFor('/tmp/e2e-2/nodes/node-1', 'default.web-abcde-x2k4p'));
  });
  it('gives the bridge the first address of the slice', () => {
    assert.equal(bridgeSettings('br', '100.64.3.0/24', '100.64.0.0/16').gateway, '100.64.3.1');
  });
});

describe('planRules', () => {
  const settings = bridgeSettings('tidebr', '100.64.3.0/24', '100.64.0.0/16');
  const nat = '-A POSTROUTING -s 100.64.3.0/24 ! -d 100.64.0.0/16 -m comment --comment "tide:tidebr" -j MASQUERADE';
  const fwdIn = '-A FORWARD -i tidebr -m comment --comment "tide:tidebr" -j ACCEPT';
  const fwdOut = '-A FORWARD -o tidebr -m comment --comment "tide:tidebr" -j ACCEPT';

  it('adds every rule on a fresh node', () => {
    const plan = planRules('tidebr', { nat: [], filter: [] }, desiredRules(settings));
    assert.deepEqual(plan.toDelete, []);
    assert.deepEqual(plan.toAdd.map((r) => r.line), [nat, fwdIn, fwdOut].map((l) => l.replace(/"/g, '')));
  });
  it('changes nothing when iptables -S lists them already (quoted comments)', () => {
    assert.deepEqual(planRules('tidebr', { nat: [nat], filter: [fwdIn, fwdOut] }, desiredRules(settings)), { toDelete: [], toAdd: [] });
  });
  it('replaces the NAT rule of an old slice and leaves other bridges\' and foreign rules alone', () => {
    const old = nat.replace(/100\.64\.3\.0/, '100.64.9.0');
    const other = nat.replace(/tidebr/g, 'tidebr2');
    const foreign = '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE';
    const plan = planRules('tidebr', { nat: [old, other, foreign], filter: [fwdIn, fwdOut] }, desiredRules(settings));
    assert.deepEqual(plan.toDelete.map((r) => r.line), [old.replace(/"/g, '')]);
    assert.deepEqual(plan.toAdd.map((r) => r.line), [nat.replace(/"/g, '')]);
  });
  it('deletes every tagged rule on teardown', () => {
    const plan = planRules('tidebr', { nat: [nat], filter: [fwdIn, fwdOut] }, []);
    assert.equal(plan.toDelete.length, 3);
    assert.deepEqual(plan.toAdd, []);
  });
});

describe('planPeerRoutes', () => {
  const remote = (address: string) => !address.startsWith('127.') && address !== '192.0.2.2';
  const isLocal = (address: string) => !remote(address);
  const table: [string, { dst: string; gateway?: string }[], { address: string; podCIDR: string }[], string[], string[]][] = [
    // [case, current routes, peers, deleted, replaced "dst via"]
    ['peers on this machine need no route (their bridges are local)', [], [{ address: '127.0.1.2', podCIDR: '100.64.1.0/24' }], [], []],
    ['a remote peer gets a route via its address', [], [{ address: '192.0.2.7', podCIDR: '100.64.1.0/24' }], [], ['100.64.1.0/24 via 192.0.2.7']],
    ['an unchanged route stays', [{ dst: '100.64.1.0/24', gateway: '192.0.2.7' }], [{ address: '192.0.2.7', podCIDR: '100.64.1.0/24' }], [], []],
    ['a peer that moved gets its route replaced', [{ dst: '100.64.1.0/24', gateway: '192.0.2.7' }], [{ address: '192.0.2.8', podCIDR: '100.64.1.0/24' }],
      ['100.64.1.0/24'], ['100.64.1.0/24 via 192.0.2.8']],
    ['a peer that left loses its route', [{ dst: '100.64.1.0/24', gateway: '192.0.2.7' }], [], ['100.64.1.0/24'], []],
  ];
  for (const [title, current, peers, deleted, replaced] of table) {
    it(title, () => {
      const plan = planPeerRoutes(current, peers, isLocal);
      assert.deepEqual(plan.toDelete, deleted);
      assert.deepEqual(plan.toReplace.map((r) => `${r.dst} via ${r.via}`), replaced);
    });
  }
  it('counts loopback and the machine\'s own addresses as local', () => {
    const interfaces = { eth0: [{ address: '192.0.2.2' }] } as never;
    assert.equal(isLocalAddress('127.0.1.2', interfaces), true);
    assert.equal(isLocalAddress('192.0.2.2', interfaces), true);
    assert.equal(isLocalAddress('192.0.2.3', interfaces), false);
  });
});
