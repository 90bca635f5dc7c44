import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { agentArgs, clusterLayout, controlPlaneArgs } from './cluster.layout';

describe('local cluster layout', () => {
  // 4 cores and 8 GiB shared by 3 nodes: floor(4000/3) = 1333m, floor(8589934592/3) = 2863311530 bytes each
  const layout = clusterLayout('/tmp/t', 27070, 3, { cpuMillis: 4000, memoryBytes: 8 * 2 ** 30 });

  it('puts HTTP on P, gRPC on P+1, etcd on P+2', () => {
    assert.equal(layout.server, 'https://127.0.0.1:27070');
    assert.deepEqual(controlPlaneArgs(layout, 5), [
      '--listen', '127.0.0.1:27070', '--grpc-listen', '127.0.0.1:27071', '--etcd-port', '27072', '--state-dir', '/tmp/t/control-plane',
      '--pki-dir', '/tmp/t/pki', '--audit-log', '/tmp/t/audit.log', '--node-grace-seconds', '5',
    ]);
    assert.deepEqual(controlPlaneArgs(layout, undefined, '100.64.128.0/20').slice(-2), ['--pod-cidr', '100.64.128.0/20']);
  });

  it('gives node i the address 127.0.1.i, agent port P+10+i and 1/N of the machine', () => {
    assert.deepEqual(layout.nodes.map((n) => [n.name, n.address, n.agentPort, n.cpuMillis, n.memoryBytes]), [
      ['node-1', '127.0.1.1', 27081, 1333, 2863311530],
      ['node-2', '127.0.1.2', 27082, 1333, 2863311530],
      ['node-3', '127.0.1.3', 27083, 1333, 2863311530],
    ]);
    assert.deepEqual(agentArgs(layout, layout.nodes[1]), [
      '--name', 'node-2', '--control-plane', '127.0.0.1:27071', '--address', '127.0.1.2', '--port', '27082',
      '--state-dir', '/tmp/t/nodes/node-2', '--image-dir', '/tmp/t/images', '--cpu', '1333', '--memory', '2863311530',
    ]);
  });

  it('puts simulated hosts on the LAN: the control plane at its first address, host i at the (i+1)-th', () => {
    const netns = clusterLayout('/tmp/t', 27070, 3, { cpuMillis: 3000, memoryBytes: 3 * 2 ** 30 }, { hosts: { cidr: '198.18.70.0/24' } });
    assert.equal(netns.server, 'https://198.18.70.1:27070');
    assert.deepEqual([netns.httpListen, netns.grpcListen, netns.registryListen], ['198.18.70.1:27070', '198.18.70.1:27071', '198.18.70.1:27074']);
    assert.deepEqual(netns.nodes.map((n) => [n.address, n.host?.netns.replace(/[0-9a-f]{8}/, 'H'), n.host?.rootVeth.replace(/[0-9a-f]{8}/, 'H')]), [
      ['198.18.70.2', 'tide-H-node-1', 'tlHn1'], ['198.18.70.3', 'tide-H-node-2', 'tlHn2'], ['198.18.70.4', 'tide-H-node-3', 'tlHn3'],
    ]);
    assert.equal(agentArgs(netns, netns.nodes[0])[3], '198.18.70.1:27071', 'agents reach the control plane on the LAN');
  });

  it('names the LAN after the state dir, so clusters of different state dirs share no device', () => {
    const one = clusterLayout('/tmp/a', 27070, 1, { cpuMillis: 1000, memoryBytes: 2 ** 30 }, { hosts: { cidr: '198.18.70.0/24' } });
    const two = clusterLayout('/tmp/b', 27070, 1, { cpuMillis: 1000, memoryBytes: 2 ** 30 }, { hosts: { cidr: '198.18.70.0/24' } });
    assert.match(one.lan!.bridge, /^tl[0-9a-f]{8}$/);
    assert.notEqual(one.lan!.bridge, two.lan!.bridge);
    assert.throws(() => clusterLayout('/tmp/a', 27070, 3, { cpuMillis: 1000, memoryBytes: 2 ** 30 }, { hosts: { cidr: '198.18.70.0/30' } }), /too few addresses for 3 hosts/);
  });

  it('with --address, listens and puts its one node on this machine\'s routable address', () => {
    const routable = clusterLayout('/tmp/t', 7070, 1, { cpuMillis: 1000, memoryBytes: 2 ** 30 }, { address: '198.18.5.10' });
    assert.equal(routable.server, 'https://198.18.5.10:7070');
    assert.deepEqual(routable.nodes.map((n) => n.address), ['198.18.5.10']);
  });
});
