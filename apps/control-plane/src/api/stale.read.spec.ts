import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Response } from 'express';
import type { Service } from '@tide/api';
import { StoreUnavailableError } from '@tide/store';
import { STALE_HEADER, readThroughCache } from './stale.read';

const web: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, image: 'busybox' } };

function response(): Response & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return { headers, setHeader: (name: string, value: string) => ((headers[name] = value), undefined) } as unknown as Response & { headers: Record<string, string> };
}

describe('a read of one object while etcd is unavailable', () => {
  const unavailable = { get: async () => Promise.reject(new StoreUnavailableError('etcd did not answer within 5000 ms', 'not-applied')) };
  const cacheWith = (objects: Service[]) => ({ get: (_kind: string, namespace: string, name: string) => objects.find((o) => o.metadata.namespace === namespace && o.metadata.name === name) });

  it('answers from the cache, marked stale, when the cache holds it', async () => {
    const res = response();
    const read = await readThroughCache({ store: unavailable, cache: cacheWith([web]) } as never, res, 'Service', 'default', 'web');
    assert.equal(read, web);
    assert.match(res.headers[STALE_HEADER], /did not answer/);
  });

  it('fails as etcd\'s unavailability, not as absent, when the cache does not hold it (it may have been written since)', async () => {
    const res = response();
    await assert.rejects(readThroughCache({ store: unavailable, cache: cacheWith([]) } as never, res, 'Service', 'default', 'web'), StoreUnavailableError);
    assert.equal(res.headers[STALE_HEADER], undefined);
  });
});
