/** New replicas of a Service: fresh ones, and replacements that stand in for an existing one (replica.moves.ts). */
import { Replica, Service, replicaName, replicaTemplate, templateHash } from '@tide/api';

/**
 * A fresh replica of the Service's current template. `template` (and its hash), when given, is the
 * Service's, computed once by a caller making many replicas; they then share that template object.
 */
export function newReplica(service: Service, random: () => number = Math.random, template = replicaTemplate(service), hash = templateHash(template)): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica',
    metadata: { name: replicaName(service.metadata.name, hash, random), namespace: service.metadata.namespace, labels: { service: service.metadata.name } },
    spec: { service: service.metadata.name, templateHash: hash, template },
    status: { phase: 'Pending', ready: false, restartCount: 0 },
  };
}

/**
 * The replacement for `old`: the Service's current template, and a name derived from the old
 * replica's, so two control planes (or a restarted one) that both try to move it create the same
 * object and the second create fails instead of doubling the move.
 */
export function replacementFor(service: Service, old: Replica, reason: string, fromNode?: string): Replica {
  const replica = newReplica(service, seededRandom(`${old.metadata.namespace}/${old.metadata.name}`));
  replica.spec.replaces = { replica: old.metadata.name, reason, ...(fromNode ? { fromNode } : {}) };
  return replica;
}

/** A deterministic generator in [0, 1) from a string (FNV-1a seed, mulberry32 steps). */
export function seededRandom(seed: string): () => number {
  let state = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 0x01000193);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

