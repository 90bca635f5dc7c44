/** NodeRestriction on the agents' endpoint, over a cache the test fills: the caller from its certificate, then what it may say. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { Node, NodeRegistration, NodeStatusReport, Replica } from '@tide/api';
import { AuthorizationView, NodeCaller, authorizeRegistration, authorizeStatusReport, callerOf } from './agent.authorization';

function node(name: string, address: string, podCIDR: string): Node {
  return { apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address, podCIDR } };
}

function replica(name: string, nodeName?: string): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'default' },
    spec: { service: 'web', templateHash: 'h', template: { image: 'busybox' }, ...(nodeName ? { nodeName } : {}) },
  } as Replica;
}

const nodes = [node('node-1', '198.18.0.1', '100.64.1.0/24'), node('node-2', '198.18.0.2', '100.64.2.0/24')];
const replicas = [replica('web-1', 'node-1'), replica('web-2', 'node-2'), replica('web-pending')];
const view: AuthorizationView = {
  get: ((kind: string, _namespace: string, name: string) => (kind === 'Node' ? nodes.find((n) => n.metadata.name === name) : replicas.find((r) => r.metadata.name === name))) as AuthorizationView['get'],
  list: () => nodes,
  nodeCertificateSerials: (name) => (name === 'node-1' ? ['0a1b'] : undefined),
};

const peer = (cn: string, o: string | string[], serialNumber = '0A1B') => ({ subject: { CN: cn, O: o }, serialNumber }) as unknown as PeerCertificate;
const node1: NodeCaller = { kind: 'node', name: 'node-1', serial: '0a1b' };

function registration(nodeName: string, address: string): NodeRegistration {
  const resources = { cpuMillis: 1000, memoryBytes: 2 ** 30 };
  return { nodeName, address, agentPort: 7081, capacity: resources, allocatable: resources, labels: {}, images: [] };
}

function report(gone: string[], ...statuses: Array<[string, string?]>): NodeStatusReport {
  return { nodeName: 'node-1', gone, replicas: statuses.map(([name, ip]) => ({ namespace: 'default', name, phase: 'Running', ready: true, restartCount: 0, ...(ip ? { ip } : {}) })) };
}

describe('agent endpoint authorization', () => {
  it('takes the caller from a node certificate the cluster still honours, and nothing else', () => {
    assert.deepEqual(callerOf(peer('system:node:node-1', 'system:nodes'), view), node1);
    assert.equal((callerOf(undefined, view) as { status: number }).status, 401);
    const revoked = callerOf(peer('system:node:node-1', 'system:nodes', 'FFFF'), view) as { status: number; reason: string };
    assert.deepEqual([revoked.status, /revoked/.test(revoked.reason)], [401, true]);
    assert.equal((callerOf(peer('system:node:node-2', 'system:nodes', '0A1B'), view) as { status: number }).status, 401, 'node-2 has no honoured serial');
    assert.equal((callerOf(peer('system:tide-control-plane', 'system:masters'), view) as { status: number }).status, 403, 'the control plane is no node');
    assert.equal((callerOf(peer('system:node:node-1', ['system:nodes', 'system:masters']), view) as { status: number }).status, 401, 'a node in another group names no identity');
  });

  it('lets a node register as itself at its own address only', () => {
    assert.equal(authorizeRegistration(node1, registration('node-1', '198.18.0.1'), view).allowed, true);
    assert.equal(authorizeRegistration(node1, registration('node-1', '198.18.0.9'), view).allowed, true, 'a new address nobody holds');
    assert.deepEqual(authorizeRegistration(node1, registration('node-2', '198.18.0.2'), view), { allowed: false, status: 403, reason: 'node node-1 may not act as node node-2' });
    assert.deepEqual(authorizeRegistration(node1, registration('node-1', '198.18.0.2'), view),
      { allowed: false, status: 403, reason: 'node node-1 may not take the address 198.18.0.2: node node-2 has it' });
  });

  it('lets a node report only replicas bound to it, at addresses it holds', () => {
    assert.equal(authorizeStatusReport(node1, report([], ['web-1', '100.64.1.7']), view).allowed, true);
    assert.equal(authorizeStatusReport(node1, report([], ['web-1', '198.18.0.1']), view).allowed, true, 'host network: the node\'s own address');
    assert.equal(authorizeStatusReport(node1, report(['default/gone-already'], ['deleted-meanwhile']), view).allowed, true, 'replicas the cluster no longer has are left alone');
    const cases: Array<[NodeStatusReport, RegExp]> = [
      [{ ...report([]), nodeName: 'node-2' }, /may not act as node node-2/],
      [report([], ['web-2']), /may not report replica default\/web-2: it is bound to node-2/],
      [report(['default/web-2']), /may not report replica default\/web-2: it is bound to node-2/],
      [report(['default/web-pending']), /bound to no node/],
      [report([], ['web-1', '100.64.2.7']), /may not report the replica address 100\.64\.2\.7: it is not in 100\.64\.1\.0\/24 or 198\.18\.0\.1/],
      [report([], ['web-1', '198.18.0.2']), /may not report the replica address 198\.18\.0\.2/],
    ];
    for (const [refused, reason] of cases) {
      const decision = authorizeStatusReport(node1, refused, view);
      assert.equal(decision.allowed, false, JSON.stringify(refused));
      assert.match((decision as { reason: string }).reason, reason);
      assert.equal((decision as { status: number }).status, 403);
    }
  });
});
