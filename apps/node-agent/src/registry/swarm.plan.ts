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

/** Where `self` fetches layer `index`: undefined for the registry (it is the seed, or not in the swarm). */
export function layerSource(peers: readonly Peer[], self: string, index: number, fanout = SWARM_FANOUT): Peer | undefined {
  const position = peers.findIndex((p) => p.node === self);
  if (position < 0 || peers.length < 2) return undefined;
  const n = peers.length;
  const rank = (position - (index % n) + n) % n; // 0 = the seed of this layer
  if (rank === 0) return undefined;
  const parentRank = Math.floor((rank - 1) / fanout);
  return peers[(parentRank + index) % n];
}

/** How far below the seed `self` is in layer `index`'s tree: 0 for the seed (and a node outside the swarm). */
export function swarmDepth(peers: readonly Peer[], self: string, index: number, fanout = SWARM_FANOUT): number {
  const position = peers.findIndex((p) => p.node === self);
  if (position < 0 || peers.length < 2) return 0;
  let rank = (position - (index % peers.length) + peers.length) % peers.length;
  let depth = 0;
  while (rank > 0) {
    rank = Math.floor((rank - 1) / fanout);
    depth++;
  }
  return depth;
}
