import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReplicaAssignment } from '@tide/api';
import { buildContainerSpec, gracePeriodFromLabels } from './container-spec.builder';
import { assignment } from '../testing/assignments';

describe('container spec from an assignment', () => {
  it('maps names, argv, env, limits and labels', () => {
    const a: ReplicaAssignment = assignment('web-abcde-x1y2z', {
      namespace: 'shop', service: 'web', templateHash: 'abcdef12',
      template: {
        command: ['sh', '-c'], args: ['echo hi'], env: { A: '1' }, workingDir: '/tmp', limits: { cpuMillis: 500, memoryBytes: 64 * 2 ** 20 },
        requests: { cpuMillis: 250, memoryBytes: 32 * 2 ** 20 }, terminationGracePeriodSeconds: 5,
      },
    });
    const spec = buildContainerSpec(a, '/logs/x.log');
    assert.equal(spec.id, 'shop.web-abcde-x1y2z');
    assert.equal(spec.hostname, 'web-abcde-x1y2z');
    assert.deepEqual(spec.argv, ['sh', '-c', 'echo hi']);
    assert.deepEqual(spec.env, { A: '1' });
    assert.equal(spec.workingDir, '/tmp');
    assert.deepEqual(spec.limits, { cpuMillis: 500, cpuRequestMillis: 250, memoryBytes: 67108864, pids: undefined });
    assert.equal(spec.logPath, '/logs/x.log');
    assert.deepEqual(spec.labels, { namespace: 'shop', service: 'web', replica: 'web-abcde-x1y2z', templateHash: 'abcdef12', terminationGracePeriodSeconds: '5' });
  });

  it('sets no limit the template does not set, and no working dir', () => {
    const spec = buildContainerSpec(assignment('a', { template: { requests: { cpuMillis: 0, memoryBytes: 0 } } }), '/l');
    assert.deepEqual(spec.limits, { cpuMillis: undefined, cpuRequestMillis: undefined, memoryBytes: undefined, pids: undefined });
    assert.equal('workingDir' in spec, false);
  });

  it('passes user, read-only root and an Unconfined seccomp profile on, and leaves them out when the assignment has none', () => {
    const secured = buildContainerSpec(assignment('a', { template: { user: 'app:staff', readOnlyRootFilesystem: true, seccompProfile: 'Unconfined' } }), '/l');
    assert.equal(secured.seccompProfile, 'Unconfined');
    assert.equal(secured.user, 'app:staff');
    assert.equal(secured.readOnlyRootFilesystem, true);
    const plain = buildContainerSpec(assignment('a'), '/l');
    assert.equal('user' in plain, false, 'root, or the image\'s user: the runtime decides');
    assert.equal('readOnlyRootFilesystem' in plain, false);
    assert.equal('seccompProfile' in plain, false, 'the runtime\'s default profile');
  });

  it('carries the network mode', () => {
    assert.equal(buildContainerSpec(assignment('a', { template: { network: 'bridge' } }), '/l').network, 'bridge');
    assert.equal(buildContainerSpec(assignment('a', { template: { network: 'host' } }), '/l').network, 'host');
  });

  it('reads the grace period back from labels, 30 s when missing', () => {
    assert.equal(gracePeriodFromLabels({ terminationGracePeriodSeconds: '0' }), 0);
    assert.equal(gracePeriodFromLabels({ terminationGracePeriodSeconds: '7' }), 7);
    assert.equal(gracePeriodFromLabels({}), 30);
  });
});
