/** The Assignments message built from parts encoded once reads exactly as the one serialized whole. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AssignedTemplate, NodeAssignments, NodeSlice, ReplicaAssignment } from '@tide/api';
import { decodeAssignments, encodeAssignments } from './agent.mapper';
import { AssignmentsEncoder, passBytes } from './assignments.encoder';
import type { Assignments, Assignments__Output } from './generated/messages';
import { loadAgentProto } from './index';

const method = loadAgentProto().tide.v1.AgentService.service.WatchAssignments;
const serialize = method.responseSerialize as (message: Assignments) => Buffer;
const read = (bytes: Buffer): NodeAssignments => decodeAssignments(method.responseDeserialize(bytes) as Assignments__Output);

const template = (image: string): AssignedTemplate => ({
  image, command: ['sleep', '3600'], args: [], env: { A: '1' }, requests: { cpuMillis: 250, memoryBytes: 2 ** 28 }, limits: { cpuMillis: 500 },
  ports: [{ name: 'http', containerPort: 8080, publish: 18080 }], network: 'bridge', restartPolicy: 'Always', terminationGracePeriodSeconds: 30,
});
const replica = (name: string, image = 'web:1', hash = 'h1'): ReplicaAssignment => ({ namespace: 'shop', name, service: 'web', templateHash: hash, template: template(image) });
const slices: NodeSlice[] = Array.from({ length: 5 }, (_, i) => ({ nodeName: `node-${i}`, address: `198.18.0.${i}`, podCIDR: `100.64.${i}.0/24` }));

describe('assignments encoder', () => {
  it('reads as the whole message serialized at once: replicas in order, the revision, the slices', () => {
    const encoder = new AssignmentsEncoder(serialize);
    for (const sent of [
      { replicas: [replica('web-1'), replica('web-2', 'web:2', 'h2')], revision: 42, nodes: slices.slice(1), clusterId: 'c0ffee' },
      { replicas: [], revision: 7, nodes: [] },
      { replicas: [replica('web-3')], revision: 0, nodes: [] },
      { replicas: [replica('web-1'), replica('web-3')], revision: 2 ** 40, nodes: slices },
    ] satisfies NodeAssignments[]) {
      assert.deepEqual(read(encoder.encode(sent)), sent);
      assert.deepEqual(read(encoder.encode(sent)), read(serialize(encodeAssignments(sent))), 'again, from the encoded parts');
    }
  });

  it('keeps each message\'s own revision however many parts follow it, and a new template under a new hash', () => {
    const encoder = new AssignmentsEncoder(serialize);
    encoder.encode({ replicas: [replica('web-1')], revision: 1, nodes: slices });
    const next = read(encoder.encode({ replicas: [replica('web-1', 'web:2', 'h2'), replica('web-2')], revision: 9, nodes: slices }));
    assert.equal(next.revision, 9);
    assert.deepEqual(next.replicas.map((r) => [r.name, r.templateHash, r.template.image]), [['web-1', 'h2', 'web:2'], ['web-2', 'h1', 'web:1']]);
  });

  it('stays correct across sweeps of its replica entries', () => {
    const encoder = new AssignmentsEncoder(serialize);
    for (let i = 0; i < 25_000; i++) {
      const sent = { replicas: [replica(`web-${i % 3}`), replica(`web-${i}`)], revision: i, nodes: [] };
      const bytes = encoder.encode(sent);
      if (i % 4999 === 0) assert.deepEqual(read(bytes), sent);
    }
  });

  it('passBytes sends bytes as they are and serializes a message', () => {
    const message = encodeAssignments({ replicas: [replica('web-1')], revision: 3, nodes: [] });
    const bytes = serialize(message);
    const pass = passBytes(serialize);
    assert.equal(pass(bytes), bytes);
    assert.deepEqual(pass(message), bytes);
  });
});
