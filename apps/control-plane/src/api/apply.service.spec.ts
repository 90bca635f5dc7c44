/**
 * An apply that names the resourceVersion it read (tsctl apply does) is written only if the Service
 * is still at that version. Two applies from the same read, at once: one is written, the other gets
 * the one 409 a user sees for a stale read, whichever way the race went (before or during the
 * compare-and-swap).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Service } from '@tide/api';
import { ConflictError } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { applyDocuments } from './apply.service';

const web = (replicas: number, resourceVersion?: string) => ({
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', ...(resourceVersion ? { resourceVersion } : {}) }, spec: { replicas, image: 'busybox' },
});

describe('apply from a read resourceVersion', () => {
  const fixture = useEtcdFixture();

  it('writes one of two applies from the same read and refuses the other with the stale-read 409', async () => {
    await applyDocuments(fixture.store, [web(1)]);
    for (let round = 0; round < 5; round++) {
      const read = (await fixture.store.get<Service>('Service', 'default', 'web'))!.metadata.resourceVersion!;
      const outcomes = await Promise.allSettled([applyDocuments(fixture.store, [web(10 + round * 2, read)]), applyDocuments(fixture.store, [web(11 + round * 2, read)])]);
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.equal(refused.length, 1, JSON.stringify(outcomes));
      assert.ok(refused[0].reason instanceof ConflictError);
      assert.match((refused[0].reason as Error).message, new RegExp(`^service default/web changed since it was read: resourceVersion ${read} is stale \\(now \\S+\\); read it again, or apply with --force to overwrite$`));
    }
  });
});
