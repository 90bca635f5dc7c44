/** The layer tree of a swarm: one seed per layer, rotating; parents before children; fan-out respected. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { layerSource, passesOn, swarmRank } from './swarm.plan';

const peers = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((node) => ({ node, address: `${node}:1` }));
const source = (self: string, layer: number) => layerSource(peers, self, layer)?.node ?? 'registry';

describe('swarm plan', () => {
  it('has one seed per layer, rotating with the layer index', () => {
    for (let layer = 0; layer < 10; layer++) {
      const seeds = peers.filter((p) => source(p.node, layer) === 'registry').map((p) => p.node);
      assert.deepEqual(seeds, [peers[layer % peers.length].node]);
    }
  });

  it('builds a tree of fan-out 3 under the seed (rotated order [b c d e f g a] for layer 1)', () => {
    assert.deepEqual(peers.map((p) => source(p.node, 1)), ['c', 'registry', 'b', 'b', 'b', 'c', 'c']);
  });

  it('reaches the seed from every node without a cycle', () => {
    for (let layer = 0; layer < 7; layer++) {
      for (const peer of peers) {
        let at = peer.node;
        for (let hops = 0; source(at, layer) !== 'registry'; hops++) {
          assert.ok(hops < peers.length, `a cycle from ${peer.node} on layer ${layer}`);
          at = source(at, layer);
        }
      }
    }
  });

  it('ranks each node in a layer\'s tree, its source before it; only the seed and inner nodes pass the layer on (layer 1: b seed, c d e under it, f g a under c)', () => {
    assert.deepEqual(peers.map((p) => swarmRank(peers, p.node, 1)), [6, 0, 1, 2, 3, 4, 5]);
    assert.deepEqual(peers.filter((p) => passesOn(peers, p.node, 1)).map((p) => p.node), ['b', 'c']);
    for (let layer = 0; layer < 7; layer++) {
      for (const peer of peers) {
        const parent = layerSource(peers, peer.node, layer);
        if (parent) {
          assert.ok(swarmRank(peers, parent.node, layer)! < swarmRank(peers, peer.node, layer)!);
          assert.ok(passesOn(peers, parent.node, layer), `${parent.node} passes layer ${layer} on to ${peer.node}`);
        }
      }
    }
    assert.equal(swarmRank(peers, 'z', 1), undefined);
    assert.equal(passesOn(peers, 'z', 1), false);
  });

  it('fetches from the registry alone, or when not in the list', () => {
    assert.equal(layerSource([peers[0]], 'a', 0), undefined);
    assert.equal(layerSource(peers, 'z', 3), undefined);
  });
});
