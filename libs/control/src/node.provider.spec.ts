import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CONTRACT_POOL, InMemoryNodeProvider, nodeProviderContract } from './testing';
import { nodePoolErrors } from './node.provider';

describe('NodeProvider contract: InMemoryNodeProvider', () => {
  for (const { name, run } of nodeProviderContract(() => new InMemoryNodeProvider(() => 0))) it(name, run);

  it('stamps nodes with its clock', async () => {
    let now = 1000;
    const provider = new InMemoryNodeProvider(() => now);
    assert.equal((await provider.create(CONTRACT_POOL)).createdAtMs, 1000);
    now = 5000;
    assert.equal((await provider.create(CONTRACT_POOL)).createdAtMs, 5000);
  });
});

describe('nodePoolErrors', () => {
  const cases: { name: string; change: object; error?: RegExp }[] = [
    { name: 'a valid pool', change: {} },
    { name: 'min above max', change: { minNodes: 3, maxNodes: 2 }, error: /maxNodes: must be at least minNodes \(2 < 3\)/ },
    { name: 'no CPU', change: { template: { ...CONTRACT_POOL.template, cpu: 0 } }, error: /template\.cpu/ },
    { name: 'fractional memory', change: { template: { ...CONTRACT_POOL.template, memory: 1.5 } }, error: /template\.memory/ },
    { name: 'a bad name', change: { name: 'Web_1' }, error: /pool Web_1: name/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const errors = nodePoolErrors({ ...CONTRACT_POOL, ...c.change });
      if (c.error) assert.match(errors.join('; '), c.error);
      else assert.deepEqual(errors, []);
    });
  }
});
