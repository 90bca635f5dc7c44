/**
 * Test-only entry (`@tide/control/testing`): the in-memory NodeProvider and the contract every
 * NodeProvider must keep, written once so that the fake and the real providers are held to it alike.
 */
import * as assert from 'node:assert/strict';
import { NodePool, NodeProvider, NodeProviderError } from './node.provider';

export { InMemoryNodeProvider } from './node.provider.fake';

export const CONTRACT_POOL: NodePool = { name: 'web', template: { cpu: 2000, memory: 4 * 2 ** 30, labels: { pool: 'web' } }, minNodes: 0, maxNodes: 2 };

/** The behaviour every NodeProvider keeps; `make` gives a fresh provider with no node. */
export function nodeProviderContract(make: () => NodeProvider): { name: string; run: () => Promise<void> }[] {
  return [
    { name: 'creates nodes of the pool with distinct names and lists them', run: async () => {
      const provider = make();
      const a = await provider.create(CONTRACT_POOL);
      const b = await provider.create(CONTRACT_POOL);
      assert.notEqual(a.name, b.name);
      assert.deepEqual((await provider.list('web')).map((n) => n.name).sort(), [a.name, b.name].sort());
      assert.deepEqual(await provider.list('other'), []);
    } },
    { name: 'refuses a node above the pool maximum', run: async () => {
      const provider = make();
      await provider.create(CONTRACT_POOL);
      await provider.create(CONTRACT_POOL);
      await assert.rejects(provider.create(CONTRACT_POOL), (e: Error) => e instanceof NodeProviderError && /maxNodes \(2\)/.test(e.message));
      assert.equal((await provider.list()).length, 2);
    } },
    { name: 'deletes a node it made and refuses one it does not know', run: async () => {
      const provider = make();
      const a = await provider.create(CONTRACT_POOL);
      await provider.delete(a.name);
      assert.deepEqual(await provider.list(), []);
      await assert.rejects(provider.delete(a.name), (e: Error) => e instanceof NodeProviderError && e.message.includes(a.name));
    } },
    { name: 'refuses a pool that is not valid, naming the field', run: async () => {
      const provider = make();
      await assert.rejects(provider.create({ ...CONTRACT_POOL, maxNodes: 0 }), (e: Error) => e instanceof NodeProviderError && /maxNodes/.test(e.message));
      assert.deepEqual(await provider.list(), []);
    } },
  ];
}
