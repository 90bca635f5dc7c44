/**
 * A real etcd for the controllers' flow tests, with the store and the cache the control plane reads
 * through: started before the suite, emptied of Tide's keys before each test, stopped after.
 */
import { after, before, beforeEach } from 'node:test';
import { ClusterCache, ObjectStore } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/testing';

export interface EtcdFixture {
  etcd: TestEtcd;
  store: ObjectStore;
  cache: ClusterCache;
}

/** Call inside a describe(); the fields are set once the suite's `before` has run. */
export function useEtcdFixture(): EtcdFixture {
  const fixture = {} as EtcdFixture;
  before(async () => {
    fixture.etcd = await startTestEtcd();
    fixture.store = new ObjectStore(fixture.etcd.client);
    fixture.cache = new ClusterCache(fixture.etcd.client);
    await fixture.cache.start();
  });
  after(async () => {
    await fixture.cache?.stop();
    await fixture.etcd?.stop();
  });
  beforeEach(async () => {
    await fixture.etcd.client.delete().prefix('/tide/').exec();
  });
  return fixture;
}
