/**
 * One failing service never blocks another: on a real etcd, a service whose replica creates fail
 * (etcd refuses them) gets a SyncFailed event and back-off while a service with 200 kB of env gets
 * all its replicas (20 of them: 4 MB, several transactions under etcd's 1.5 MiB request limit).
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service, TideEvent } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import { ObjectStore, ObjectTooLargeError, StoreNoSpaceError, StoredForm } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { EventRecorder } from './events.recorder';
import { ServiceController } from './service.controller';

function service(name: string, replicas: number, envBytes = 0): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { replicas, image: 'busybox', ...(envBytes ? { env: { PADDING: 'x'.repeat(envBytes) } } : {}) },
  };
}

/**
 * The store, except that creating replicas of `broken` fails while `failing` says so: refused as
 * too large (the service's own trouble), or with `storeWide`, as etcd out of space (everyone's).
 */
function storeFailing(store: ObjectStore, state: { failing: boolean; attempts: number; storeWide?: boolean }): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'createForms' && property !== 'create') return typeof value === 'function' ? value.bind(target) : value;
      return (objects: Replica | StoredForm<Replica>[], ...rest: unknown[]) => {
        const list = Array.isArray(objects) ? objects.map((form) => form.object) : [objects];
        if (list.some((o) => o.kind === 'Replica' && o.spec.service === 'broken')) {
          state.attempts++;
          if (state.failing && state.storeWide) return Promise.reject(new StoreNoSpaceError('etcd is out of space (NOSPACE alarm)'));
          if (state.failing) return Promise.reject(new ObjectTooLargeError('Replica default/broken-x is 1.1 MiB stored, over the 1.0 MiB an object may take'));
        }
        return (value as (...a: unknown[]) => Promise<unknown>).call(target, objects, ...rest);
      };
    },
  });
}

describe('services sync independently', { timeout: 240_000 }, () => {
  const fixture = useEtcdFixture();
  const state: { failing: boolean; attempts: number; storeWide?: boolean } = { failing: true, attempts: 0 };
  let store: ObjectStore;
  let controller: ServiceController;

  before(() => {
    store = storeFailing(fixture.store, state);
    controller = new ServiceController(store, new EventRecorder(fixture.store, 'test'), fixture.cache);
  });

  const replicas = async (name: string) => (await fixture.store.list<Replica>('Replica')).items.filter((r) => r.spec.service === name);
  const events = async (reason: string) => (await fixture.store.list<TideEvent>('Event')).items
    .filter((e) => e.spec.reason === reason && e.spec.involvedObject.name === 'broken');

  it('creates a large service\'s replicas while another service fails, and retries that one with back-off', async () => {
    await fixture.store.create(service('broken', 2));
    await fixture.store.create(service('large', 20, 200 * 1024));
    await fixture.cache.fresh();
    await controller.sync();
    assert.equal((await replicas('large')).length, 20, 'the large service got every replica');
    assert.equal((await replicas('broken')).length, 0);
    const failed = await events('SyncFailed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].spec.type, 'Warning');
    assert.match(failed[0].spec.message, /broken-x is 1\.1 MiB stored.*retrying in \d+ s \(failure 1 in a row\)/);
    // Within its back-off the failing service is left alone.
    const attempts = state.attempts;
    await controller.sync();
    assert.equal(state.attempts, attempts, 'not retried before its back-off passed');
    // Once etcd takes writes again, a pass after the back-off creates its replicas.
    state.failing = false;
    await waitFor(async () => {
      await fixture.cache.fresh();
      await controller.sync();
      return (await replicas('broken')).length === 2;
    }, { what: 'the failing service to be synced after its back-off' });
    assert.equal((await events('Synced')).length, 1);
  });

  it('treats etcd out of space as every service\'s trouble: the pass fails, no back-off, no SyncFailed', async () => {
    await fixture.store.create(service('broken', 1));
    await fixture.store.create(service('fine', 1));
    await fixture.cache.fresh();
    Object.assign(state, { failing: true, storeWide: true, attempts: 0 });
    await assert.rejects(controller.sync(), StoreNoSpaceError);
    assert.equal((await replicas('fine')).length, 1, 'the other service was synced');
    const attempts = state.attempts;
    await assert.rejects(controller.sync(), StoreNoSpaceError);
    assert.ok(state.attempts > attempts, 'tried again at once, no back-off');
    assert.deepEqual(await events('SyncFailed'), []);
  });
});
