import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { replicaName, replicaTemplate, specEquals, templateHash } from './template';
import { Service } from './types';

const base: Service = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 2, image: 'busybox', command: ['sleep', '9'], resources: { limits: { cpu: '500m', memory: '64Mi' } } },
};

describe('replicaTemplate', () => {
  it('defaults requests to limits and parses quantities', () => {
    const t = replicaTemplate(base);
    assert.deepEqual(t.requests, { cpuMillis: 500, memoryBytes: 64 * 2 ** 20 });
    assert.deepEqual(t.limits, { cpuMillis: 500, memoryBytes: 64 * 2 ** 20 });
    const bounded = replicaTemplate({ ...base, spec: { ...base.spec, resources: { limits: { 'ephemeral-storage': '512Mi' } } } });
    assert.equal(bounded.limits.ephemeralStorageBytes, 512 * 2 ** 20);
  });
  it('hashes equal templates equally and a changed image differently; replicas do not count', () => {
    const scaled = { ...base, spec: { ...base.spec, replicas: 7 } };
    const changed = { ...base, spec: { ...base.spec, image: 'busybox:2' } };
    assert.equal(templateHash(replicaTemplate(scaled)), templateHash(replicaTemplate(base)));
    assert.notEqual(templateHash(replicaTemplate(changed)), templateHash(replicaTemplate(base)));
  });
  it('carries user, readOnlyRootFilesystem and probes only when set, so that existing hashes stay', () => {
    // The hash of `base` before these fields existed (issue 2's templates, when host was the only
    // network): adding them must not restart every replica of every service on upgrade. (A service
    // that never named its network does change: the default became bridge, a new container.)
    const host = { ...base, spec: { ...base.spec, network: 'host' as const } };
    assert.equal(templateHash(replicaTemplate(host)), '3114f04473');
    const off = replicaTemplate({ ...host, spec: { ...host.spec, readOnlyRootFilesystem: false } });
    assert.equal('readOnlyRootFilesystem' in off, false);
    assert.equal(templateHash(off), '3114f04473', 'false is the default: same template');
    const noProbes = replicaTemplate({ ...host, spec: { ...host.spec, probes: {} } });
    assert.equal('probes' in noProbes, false);
    assert.equal(templateHash(noProbes), '3114f04473', 'no probe declared: same template');
    const secured = replicaTemplate({ ...base, spec: { ...base.spec, user: 'app:staff', readOnlyRootFilesystem: true } });
    assert.equal(secured.user, 'app:staff');
    assert.equal(secured.readOnlyRootFilesystem, true);
    assert.notEqual(templateHash(secured), templateHash(replicaTemplate(base)));
    const runtimeDefault = replicaTemplate({ ...host, spec: { ...host.spec, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } });
    assert.equal(templateHash(runtimeDefault), '3114f04473', 'RuntimeDefault is the default: same template');
    const unconfined = replicaTemplate({ ...host, spec: { ...host.spec, securityContext: { seccompProfile: { type: 'Unconfined' } } } });
    assert.equal(unconfined.seccompProfile, 'Unconfined');
    assert.notEqual(templateHash(unconfined), '3114f04473');
  });
  it('carries placement.maxSkew only when set, so that existing hashes stay', () => {
    const host = { ...base, spec: { ...base.spec, network: 'host' as const } };
    const placed = { ...host, spec: { ...host.spec, placement: { nodeSelector: undefined } } };
    assert.equal('maxSkew' in replicaTemplate(placed), false);
    assert.equal(templateHash(replicaTemplate(placed)), '3114f04473');
    const skewed = replicaTemplate({ ...host, spec: { ...host.spec, placement: { maxSkew: 3 } } });
    assert.equal(skewed.maxSkew, 3);
    assert.notEqual(templateHash(skewed), '3114f04473');
  });
  it('names replicas service-hash-random', () => {
    assert.match(replicaName('web', 'abcdef1234', () => 0), /^web-abcde-bbbbb$/);
  });
  it('compares specs whatever the key order', () => {
    const reordered: Service = { ...base, spec: { resources: base.spec.resources, command: ['sleep', '9'], image: 'busybox', replicas: 2 } };
    assert.ok(specEquals(base, reordered));
    assert.ok(!specEquals(base, { ...base, spec: { ...base.spec, replicas: 3 } }));
  });
});
