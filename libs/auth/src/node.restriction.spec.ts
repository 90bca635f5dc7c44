import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Decision } from './decision';
import {
  nodeActsAsItself, nodeCertificateCurrent, nodeMayClaimAddress, nodeMayClaimPodCidr, nodeMayReportReplica, nodeMayReportReplicaAddress, type KnownNode,
} from './node.restriction';
import type { Subject } from './subjects';

const node1: Subject = { kind: 'node', name: 'node-1' };
const admin: Subject = { kind: 'user', name: 'token:aaaaaaaaaaaa', role: 'admin' };
const cluster: KnownNode[] = [
  { name: 'node-1', address: '198.18.0.1', podCIDR: '100.64.1.0/24' },
  { name: 'node-2', address: '198.18.0.2', podCIDR: '100.64.2.0/24' },
  { name: 'node-3' }, // registering: no address or slice yet
];

// Like Kubernetes' NodeRestriction admission tests: one row per attempt, what a forged or honest
// agent holding node-1's certificate gets.
const table: Array<[string, () => Decision, 'allow' | 401 | [403, RegExp]]> = [
  ['register as itself', () => nodeActsAsItself(node1, 'node-1'), 'allow'],
  ['register as node-2', () => nodeActsAsItself(node1, 'node-2'), [403, /node node-1 may not act as node node-2/]],
  ["watch node-2's assignments", () => nodeActsAsItself(node1, 'node-2'), [403, /may not act as node node-2/]],
  ['without a certificate', () => nodeActsAsItself(undefined, 'node-1'), 401],
  ['with an admin token instead of a node certificate', () => nodeActsAsItself(admin, 'node-1'), [403, /only a node certificate/]],
  ['report its own replica', () => nodeMayReportReplica(node1, 'a/web-x1', 'node-1'), 'allow'],
  ["report node-2's replica", () => nodeMayReportReplica(node1, 'a/web-x2', 'node-2'), [403, /may not report replica a\/web-x2: it is bound to node-2/]],
  ['report an unbound replica', () => nodeMayReportReplica(node1, 'a/web-x3', undefined), [403, /bound to no node/]],
  ['a replica IP in its pod CIDR', () => nodeMayReportReplicaAddress(node1, '100.64.1.17', cluster[0]), 'allow'],
  ['a host-network replica at its own address', () => nodeMayReportReplicaAddress(node1, '198.18.0.1', cluster[0]), 'allow'],
  ['no IP yet', () => nodeMayReportReplicaAddress(node1, '', cluster[0]), 'allow'],
  ["a replica IP in node-2's pod CIDR", () => nodeMayReportReplicaAddress(node1, '100.64.2.9', cluster[0]),
    [403, /may not report the replica address 100\.64\.2\.9: it is not in 100\.64\.1\.0\/24 or 198\.18\.0\.1/]],
  ["node-2's address", () => nodeMayReportReplicaAddress(node1, '198.18.0.2', cluster[0]), [403, /198\.18\.0\.2/]],
  ['an address that is no IPv4', () => nodeMayReportReplicaAddress(node1, 'evil', cluster[0]), [403, /evil/]],
  ['checked against another node\'s record', () => nodeMayReportReplicaAddress(node1, '100.64.2.9', cluster[1]), [403, /may not act as node node-2/]],
  ['keep its own address', () => nodeMayClaimAddress(node1, '198.18.0.1', cluster), 'allow'],
  ['a new free address', () => nodeMayClaimAddress(node1, '198.18.0.9', cluster), 'allow'],
  ["take node-2's address", () => nodeMayClaimAddress(node1, '198.18.0.2', cluster), [403, /may not take the address 198\.18\.0\.2: node node-2 has it/]],
  ['keep its own pod CIDR', () => nodeMayClaimPodCidr(node1, '100.64.1.0/24', cluster), 'allow'],
  ["claim node-2's pod CIDR", () => nodeMayClaimPodCidr(node1, '100.64.2.0/24', cluster), [403, /overlaps node node-2's 100\.64\.2\.0\/24/]],
  ["claim a block containing node-2's", () => nodeMayClaimPodCidr(node1, '100.64.0.0/16', cluster), [403, /overlaps node node-2's/]],
  ['claim garbage', () => nodeMayClaimPodCidr(node1, '100.64.1.0', cluster), [403, /not an IPv4 CIDR/]],
  ['a certificate the cluster recorded', () => nodeCertificateCurrent(node1, '4A0B', ['1111', '4a0b']), 'allow'],
  ['a certificate of a deleted node', () => nodeCertificateCurrent(node1, '4a0b', undefined), 401],
  ['a certificate replaced since', () => nodeCertificateCurrent(node1, '4a0b', ['1111']), 401],
];

describe('NodeRestriction', () => {
  for (const [name, check, expected] of table) {
    it(name, () => {
      const decision = check();
      if (expected === 'allow') return assert.deepEqual(decision, { allowed: true });
      assert.equal(decision.allowed, false);
      if (decision.allowed) return;
      if (expected === 401) return assert.equal(decision.status, 401);
      assert.equal(decision.status, 403);
      assert.match(decision.reason, expected[1]);
    });
  }
});
