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
});
