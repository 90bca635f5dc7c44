import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service } from '@tide/api';
import { parseServiceCidr, serviceIpCandidates, servicesNeedingIp, staleServiceIpClaims } from './service-ip.plan';

function service(name: string, clusterIP?: string, namespace = 'default'): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace }, spec: { replicas: 1, image: 'busybox' },
    ...(clusterIP ? { status: { replicas: 0, readyReplicas: 0, runningReplicas: 0, pendingReplicas: 0, clusterIP } } : {}),
  };
}

const first = (range: string, owner: string, recorded: string | undefined, claims: Map<string, string>, n = 3) =>
  [...serviceIpCandidates(range, owner, recorded, claims)].slice(0, n);

describe('serviceIpCandidates', () => {
  it('tries the free addresses in order, without the range\'s first (network) address', () => {
    assert.deepEqual(first('100.96.0.0/16', 'default/web', undefined, new Map()), ['100.96.0.1', '100.96.0.2', '100.96.0.3']);
  });

  it('skips claimed addresses, and never offers the last (broadcast) address', () => {
    const claims = new Map([['100.96.5.1', 'default/a'], ['100.96.5.3', 'default/b']]);
    assert.deepEqual(first('100.96.5.0/29', 'default/web', undefined, claims, 10), ['100.96.5.2', '100.96.5.4', '100.96.5.5', '100.96.5.6']);
  });

  it('offers the recorded address first (a service keeps its IP), then one its claim holds (an allocation cut short)', () => {
    const claims = new Map([['100.96.0.9', 'default/web'], ['100.96.0.1', 'default/other']]);
    assert.deepEqual(first('100.96.0.0/16', 'default/web', '100.96.0.20', claims), ['100.96.0.20', '100.96.0.9', '100.96.0.2']);
  });

  it('does not offer a recorded address that another service\'s claim holds, nor one outside the range', () => {
    const claims = new Map([['100.96.0.1', 'default/other']]);
    assert.deepEqual(first('100.96.0.0/16', 'default/web', '100.96.0.1', claims, 1), ['100.96.0.2']);
    assert.deepEqual(first('100.96.0.0/16', 'default/web', '10.0.0.1', new Map(), 1), ['100.96.0.1']);
  });
});

describe('servicesNeedingIp', () => {
  it('lists services without an address, or whose address is not theirs by claim', () => {
    const claims = new Map([['100.96.0.1', 'default/a'], ['100.96.0.2', 'default/x']]);
    const services = [service('a', '100.96.0.1'), service('b'), service('c', '100.96.0.2'), service('d', '100.96.0.3'), service('e', '10.1.1.1')];
    assert.deepEqual(servicesNeedingIp(services, claims, '100.96.0.0/16').map((s) => s.metadata.name), ['b', 'c', 'd', 'e']);
  });
});

describe('staleServiceIpClaims', () => {
  it('frees the claims of deleted services and a second address of a service whose status names another', () => {
    const claims = new Map([
      ['100.96.0.1', 'default/a'], ['100.96.0.2', 'default/gone'], ['100.96.0.3', 'default/a'], ['100.96.0.4', 'shop/b'],
    ]);
    assert.deepEqual(staleServiceIpClaims(claims, [service('a', '100.96.0.1'), service('b', undefined, 'shop')]), ['100.96.0.2', '100.96.0.3']);
  });

  it('keeps the claim of a service whose status has no address yet: it is that service\'s next address', () => {
    assert.deepEqual(staleServiceIpClaims(new Map([['100.96.0.7', 'default/new']]), [service('new')]), []);
  });
});

describe('parseServiceCidr', () => {
  it('takes a block and refuses one too small or with host bits, saying why', () => {
    assert.equal(parseServiceCidr('100.96.0.0/16'), '100.96.0.0/16');
    assert.throws(() => parseServiceCidr('100.96.0.0/30'), /too small for a service range/);
    assert.throws(() => parseServiceCidr('100.96.0.1/16'), /host bits set/);
  });
});
