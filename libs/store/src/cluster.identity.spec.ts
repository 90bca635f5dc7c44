/** The cluster identity against a real etcd: made once, then read back by every later start. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { CLUSTER_IDENTITY_KEY, ensureClusterIdentity } from './cluster.identity';
import { TestEtcd, startTestEtcd } from './testing';

describe('cluster identity on etcd', { timeout: 60_000 }, () => {
  let etcd: TestEtcd;
  before(async () => (etcd = await startTestEtcd()));
  after(async () => etcd?.stop());

  it('is written by the first start and kept by every later one, also by two at once', async () => {
    const [first, second] = await Promise.all([ensureClusterIdentity(etcd.client, 'id-a'), ensureClusterIdentity(etcd.client, 'id-b')]);
    assert.equal(first, second, 'two control planes starting at once agree on one identity');
    assert.equal(await ensureClusterIdentity(etcd.client, 'id-c'), first);
    assert.equal(await etcd.client.get(CLUSTER_IDENTITY_KEY).string(), first);
  });
});
