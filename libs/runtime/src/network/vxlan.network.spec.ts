import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { vxlanFilterRules } from './vxlan.filter';
import { planVxlanPeers, tunnelAddressOf, vxlanMacFor, vxlanNameFor } from './vxlan.network';

describe('VXLAN names and addresses', () => {
  it('derives the device from the bridge, within 15 characters', () => assert.equal(vxlanNameFor('tide0123456789'), 'tvx0123456789'));
  it('derives a locally administered MAC and the tunnel address from the slice', () => {
    assert.equal(vxlanMacFor('100.64.4.0/22'), '0e:7d:64:40:04:00');
    assert.equal(tunnelAddressOf('100.64.4.0/22'), '100.64.4.0');
  });
});

describe('planVxlanPeers', () => {
  const peer = { address: '198.18.0.3', podCIDR: '100.64.4.0/22' };
  const route = { dst: '100.64.4.0/22', gateway: '100.64.4.0', dev: 'tvx1' };
  const neighbour = { dst: '100.64.4.0', lladdr: '0e:7d:64:40:04:00' };
  const fdb = { mac: '0e:7d:64:40:04:00', dst: '198.18.0.3' };

  it('a new peer gets a forwarding entry, a neighbour and a route', () => {
    const plan = planVxlanPeers('tvx1', [peer], { routes: [], neighbours: [], fdb: [] });
    assert.deepEqual(plan.fdbCommands, ['fdb append 0e:7d:64:40:04:00 dev tvx1 dst 198.18.0.3 self permanent']);
    assert.deepEqual(plan.ipCommands, [
      'neigh replace 100.64.4.0 lladdr 0e:7d:64:40:04:00 dev tvx1 nud permanent',
      'route replace 100.64.4.0/22 via 100.64.4.0 dev tvx1 onlink proto 73',
    ]);
  });
  it('a known peer changes nothing', () => {
    assert.deepEqual(planVxlanPeers('tvx1', [peer], { routes: [route], neighbours: [neighbour], fdb: [fdb] }), { ipCommands: [], fdbCommands: [] });
  });
  it('a peer that left loses all three; a host-gw route from before goes too', () => {
    const hostGw = { dst: '100.64.8.0/22', gateway: '198.18.0.4' };
    const plan = planVxlanPeers('tvx1', [], { routes: [route, hostGw], neighbours: [neighbour], fdb: [fdb] });
    assert.deepEqual(plan.ipCommands, ['route del 100.64.4.0/22 proto 73', 'route del 100.64.8.0/22 proto 73', 'neigh del 100.64.4.0 dev tvx1']);
    assert.deepEqual(plan.fdbCommands, ['fdb del 0e:7d:64:40:04:00 dev tvx1 dst 198.18.0.3']);
  });
  it('a peer that moved to another address gets its forwarding entry moved', () => {
    const plan = planVxlanPeers('tvx1', [{ ...peer, address: '198.18.0.9' }], { routes: [route], neighbours: [neighbour], fdb: [fdb] });
    assert.deepEqual(plan.fdbCommands, ['fdb del 0e:7d:64:40:04:00 dev tvx1 dst 198.18.0.3', 'fdb append 0e:7d:64:40:04:00 dev tvx1 dst 198.18.0.9 self permanent']);
    assert.deepEqual(plan.ipCommands, []);
  });
});

describe('vxlanFilterRules', () => {
  it('accepts the VXLAN port from each peer, in order, then drops it from anyone else', () => {
    assert.deepEqual(vxlanFilterRules('tvx1', ['198.18.0.4', '198.18.0.3', '198.18.0.3']).map((rule) => rule.join(' ')), [
      '-s 198.18.0.3/32 -p udp -m udp --dport 4789 -m comment --comment tide:tvx1 -j ACCEPT',
      '-s 198.18.0.4/32 -p udp -m udp --dport 4789 -m comment --comment tide:tvx1 -j ACCEPT',
      '-p udp -m udp --dport 4789 -m comment --comment tide:tvx1 -j DROP',
    ]);
  });
});
