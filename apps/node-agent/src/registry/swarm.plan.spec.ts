/** The layer tree of a swarm: one seed per layer, rotating; parents before children; fan-out respected. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { layerSource, swarmDepth } from './swarm.plan';

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

  it('gives each node its depth in a layer\'s tree, one more than its source\'s (layer 1: b seed, c d e under it, f g a under c)', () => {
    assert.deepEqual(peers.map((p) => swarmDepth(peers, p.node, 1)), [2, 0, 1, 1, 1, 2, 2]);
    for (let layer = 0; layer < 7; layer++) {
      for (const peer of peers) {
        const parent = layerSource(peers, peer.node, layer);
        if (parent) assert.equal(swarmDepth(peers, peer.node, layer), swarmDepth(peers, parent.node, layer) + 1);
      }
    }
    assert.equal(swarmDepth(peers, 'z', 1), 0);
  });

  it('fetches from the registry alone, or when not in the list', () => {
    assert.equal(layerSource([peers[0]], 'a', 0), undefined);
    assert.equal(layerSource(peers, 'z', 3), undefined);
  });
});
