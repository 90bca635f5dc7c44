/**
 * The service IP allocator against a real etcd: addresses are unique, kept across control-plane
 * restarts, freed on delete, and two allocators running at once (a leadership handover) never give
 * one address to two services.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service, TideEvent } from '@tide/api';
import { waitFor } from '@tide/api/dist/testing';
import { ClusterCache, ServiceIpClaims } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { EventRecorder } from './events.recorder';
import { ServiceIpController } from './service-ip.controller';

const RANGE = '100.96.77.0/28'; // 14 usable addresses: small enough to run out

function service(name: string): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { replicas: 1, image: 'busybox' } };
}

describe('ServiceIpController', () => {
  const fx = useEtcdFixture();
  const controller = () => new ServiceIpController(RANGE, fx.store, fx.cache, new ServiceIpClaims(fx.etcd.client));
  /** An allocator that sees the services in another order: allocators at once then want one address for different services. */
  const rotated = (by: number) => new ServiceIpController(RANGE, fx.store, {
    waitFor: (revision: number) => fx.cache.waitFor(revision),
    list: () => { const all = fx.cache.list('Service'); return [...all.slice(by), ...all.slice(0, by)]; },
  } as unknown as ClusterCache, new ServiceIpClaims(fx.etcd.client));

  async function ips(): Promise<Map<string, string | undefined>> {
    const { items: services } = await fx.store.list<Service>('Service');
    return new Map(services.map((s) => [s.metadata.name, s.status?.clusterIP]));
  }

  async function cached(count: number): Promise<void> {
    await waitFor(() => fx.cache.list('Service').length === count, { what: `${count} services in the cache` });
  }

  it('gives each service its own address, claimed in etcd, and keeps it across a control-plane restart', async () => {
    for (const name of ['a', 'b', 'c']) await fx.store.create(service(name));
    await cached(3);
    await controller().sync();
    const first = await ips();
    assert.deepEqual([...first.values()].sort(), ['100.96.77.1', '100.96.77.2', '100.96.77.3']);
    const claims = await new ServiceIpClaims(fx.etcd.client).list();
    for (const [name, ip] of first) assert.equal(claims.get(ip!), `default/${name}`);
    // A new control plane (its own empty copy of the claims) changes nothing.
    await waitFor(() => fx.cache.list('Service').every((s) => s.status?.clusterIP), { what: 'the addresses in the cache' });
    await controller().sync();
    assert.deepEqual(await ips(), first);
  });

  it('frees the address of a deleted service, and gives it again', async () => {
    for (const name of ['a', 'b']) await fx.store.create(service(name));
    await cached(2);
    const allocator = controller();
    await allocator.sync();
    const before = await ips();
    await fx.store.delete('Service', 'default', 'a');
    await cached(1);
    await allocator.sync();
    assert.equal((await new ServiceIpClaims(fx.etcd.client).list()).has(before.get('a')!), false, 'the claim is gone');
    await fx.store.create(service('d'));
    await cached(2);
    await allocator.sync();
    assert.equal((await ips()).get('d'), before.get('a'));
  });

  it('adopts an address claimed for the service by an allocation cut short before the status was written', async () => {
    await new ServiceIpClaims(fx.etcd.client).claim('100.96.77.9', 'default/web');
    await fx.store.create(service('web'));
    await cached(1);
    await controller().sync();
    assert.equal((await ips()).get('web'), '100.96.77.9');
  });

  it('never gives one address twice when two allocators run at once, and says when the range is full', async () => {
    for (let i = 0; i < 12; i++) await fx.store.create(service(`s${i}`));
    await cached(12);
    await Promise.all([rotated(0).sync(), rotated(4).sync(), rotated(8).sync()]);
    const given = [...(await ips()).values()];
    assert.equal(given.filter(Boolean).length, 12, `every service has an address: ${given.join(' ')}`);
    assert.equal(new Set(given).size, 12, `no address twice: ${given.join(' ')}`);
    const claims = await new ServiceIpClaims(fx.etcd.client).list();
    for (const [name, ip] of await ips()) assert.equal(claims.get(ip!), `default/${name}`);
    for (let i = 12; i < 15; i++) await fx.store.create(service(`s${i}`));
    await cached(15);
    const events = new EventRecorder(fx.store, 'test');
    const full = new ServiceIpController(RANGE, fx.store, fx.cache, new ServiceIpClaims(fx.etcd.client), events);
    await full.sync();
    await full.sync();
    assert.deepEqual([...(await ips()).values()].filter((ip) => ip === undefined).length, 1, 'the 15th service waits for an address');
    const { items } = await fx.store.list<TideEvent>('Event');
    const warnings = items.filter((e) => e.spec.reason === 'ServiceIpPending');
    assert.equal(warnings.length, 1, 'said once, not every pass');
    assert.match(warnings[0].spec.message, /no free address left in the service range 100\.96\.77\.0\/28: .*--service-cidr/);
  });
});
