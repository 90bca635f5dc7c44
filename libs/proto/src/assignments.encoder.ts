/**
 * The Assignments stream message in bytes, built from parts encoded once. A node's message carries
 * every replica bound to it and every other node's slice, and is sent again whole whenever one of
 * its replicas changes: while a cluster fills, the same assignments and slices would be encoded
 * over and over (500 nodes: 499 slices in every message). Protobuf lets a message be the
 * concatenation of its fields (repeated fields append), so each replica's `replicas` entry and each
 * slice's `nodes` entry is encoded once, by the method's own serializer, and a message is their
 * bytes joined. `encodeAssignments` (agent.mapper.ts) stays the one mapping from domain to proto:
 * every part goes through it.
 *
 * The server method's serializer must let these bytes through (`passBytes`). A replica's entry is
 * keyed by namespace, name, service, template hash (a stored replica's template never changes
 * under its hash) and whether it is paused; entries not used for a while are dropped.
 */
import { NodeAssignments, NodeSlice, ReplicaAssignment } from '@tide/api';
import { encodeAssignments } from './agent.mapper';
import type { Assignments } from './generated/messages';

/** Messages encoded between two sweeps of the replica entries (those not used since the last sweep go). */
const SWEEP_EVERY = 10_000;

export class AssignmentsEncoder {
  private replicas = new Map<string, Buffer>();
  private usedSinceSweep = new Map<string, Buffer>();
  private encodedSinceSweep = 0;
  private readonly byObject = new WeakMap<ReplicaAssignment, Buffer>();
  /** Slices are the same objects for every stream until the node set changes. */
  private readonly slices = new WeakMap<NodeSlice, Buffer>();

  constructor(private readonly serialize: (message: Assignments) => Buffer) {}

  encode(assignments: NodeAssignments): Buffer {
    // Configs are not kept: they change with their objects, and a Secret's bytes stay in no cache here.
    const { revision, clusterId, nodesUnchanged, configs } = encodeAssignments({ ...assignments, replicas: [], nodes: [] });
    const parts: Buffer[] = [this.serialize({ revision, clusterId, nodesUnchanged, configs })];
    for (const replica of assignments.replicas) parts.push(this.replica(replica));
    for (const slice of assignments.nodes) parts.push(this.slice(slice));
    if (++this.encodedSinceSweep >= SWEEP_EVERY) this.sweep();
    return Buffer.concat(parts);
  }

  private replica(replica: ReplicaAssignment): Buffer {
    // A caller that keeps its assignment objects (the control plane's publisher) is answered by identity.
    const known = this.byObject.get(replica);
    if (known) return known;
    const key = `${replica.namespace}/${replica.name}\n${replica.service}\n${replica.templateHash}${replica.paused ? '\npaused' : ''}`;
    let bytes = this.usedSinceSweep.get(key) ?? this.replicas.get(key);
    // Only the field itself: a part carrying `revision` would override the message's (the last value wins).
    if (!bytes) bytes = this.serialize({ replicas: encodeAssignments({ replicas: [replica], revision: 0, nodes: [] }).replicas });
    this.usedSinceSweep.set(key, bytes);
    this.byObject.set(replica, bytes);
    return bytes;
  }

  private slice(slice: NodeSlice): Buffer {
    let bytes = this.slices.get(slice);
    if (!bytes) {
      bytes = this.serialize({ nodes: encodeAssignments({ replicas: [], revision: 0, nodes: [slice] }).nodes });
      this.slices.set(slice, bytes);
    }
    return bytes;
  }

  private sweep(): void {
    this.replicas = this.usedSinceSweep;
    this.usedSinceSweep = new Map();
    this.encodedSinceSweep = 0;
  }
}

/** A method serializer that sends bytes as they are (an `AssignmentsEncoder`'s) and serializes anything else. */
export function passBytes<T>(serialize: (value: T) => Buffer): (value: T | Buffer) => Buffer {
  return (value) => (Buffer.isBuffer(value) ? value : serialize(value));
}
