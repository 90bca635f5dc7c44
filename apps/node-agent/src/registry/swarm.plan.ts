/**
 * Peer-to-peer layers: when several nodes pull one image at once (the control plane hands each the
 * same list of peers), each layer is fetched from the registry by one node only, its seed, and passed
 * down a tree of the others, each node serving its children while it is still receiving, so registry
 * egress stays near one copy per layer however many nodes pull. Seeds rotate with the layer index, so
 * the registry's and the seeds' upload work spreads over the nodes; every node verifies every digest
 * itself (the peer is a blob source like the registry, not a trusted one).
 *
 * Worked example, 7 peers [a..g], fan-out 3, layer 1: rotated order [b c d e f g a]; b is the seed
 * (registry); c, d, e fetch from b; f, g, a from c.
 */

export interface Peer {
  node: string;
  /** `host:port` of its agent's HTTPS endpoint. */
  address: string;
}

/** Each node serves at most this many children per layer. */
export const SWARM_FANOUT = 3;

/** `self`'s place in layer `index`'s tree, breadth first: 0 for the seed; undefined outside the swarm (or alone in it). */
export function swarmRank(peers: readonly Peer[], self: string, index: number): number | undefined {
  const position = peers.findIndex((p) => p.node === self);
  if (position < 0 || peers.length < 2) return undefined;
  const n = peers.length;
  return (position - (index % n) + n) % n;
}

/** Where `self` fetches layer `index`: undefined for the registry (it is the seed, or not in the swarm). */
export function layerSource(peers: readonly Peer[], self: string, index: number, fanout = SWARM_FANOUT): Peer | undefined {
  const rank = swarmRank(peers, self, index);
  if (!rank) return undefined; // the seed, or outside
  const parentRank = Math.floor((rank - 1) / fanout);
  return peers[(parentRank + index) % peers.length];
}

/** Whether some node fetches layer `index` from `self`: its seed, or a node inside the tree. */
export function passesOn(peers: readonly Peer[], self: string, index: number, fanout = SWARM_FANOUT): boolean {
  const rank = swarmRank(peers, self, index);
  return rank !== undefined && rank * fanout + 1 < peers.length;
}
