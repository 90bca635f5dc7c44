import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { rolloutLimits, specWithTemplate, templateSpecOf } from './rollout';
import { validateDocument } from './validation';

const doc = (update: unknown) => ({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' }, spec: { replicas: 4, image: 'web:1', update } });

describe('spec.update', () => {
  it('resolves Kubernetes style: surge rounded up, unavailability down, defaults 25% and 0', () => {
    // ⌈25% × 4⌉ = 1, 0 by default; ⌈25% × 10⌉ = 3; ⌊25% × 10⌋ = 2; ⌊30% × 3⌋ = 0 with surge 0: 1.
    assert.deepEqual(rolloutLimits(undefined, 4), { maxSurge: 1, maxUnavailable: 0, progressDeadlineSeconds: 60 });
    assert.deepEqual(rolloutLimits({ maxSurge: '25%', maxUnavailable: '25%' }, 10), { maxSurge: 3, maxUnavailable: 2, progressDeadlineSeconds: 60 });
    assert.deepEqual(rolloutLimits({ maxSurge: 0, maxUnavailable: '30%', progressDeadlineSeconds: 5 }, 3), { maxSurge: 0, maxUnavailable: 1, progressDeadlineSeconds: 5 });
    assert.equal(rolloutLimits({ maxUnavailable: 9 }, 4).maxUnavailable, 4, 'never more than the replicas');
  });

  it('accepts integers and percentages', () => {
    assert.equal(validateDocument(doc({ maxSurge: 2, maxUnavailable: '25%', progressDeadlineSeconds: 30 }), 0).ok, true);
  });

  it('names every bad field', () => {
    const result = validateDocument(doc({ maxSurge: '25 %', maxUnavailable: '150%', progressDeadlineSeconds: 0, pause: true }), 0);
    assert.equal(result.ok, false);
    const errors = result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
    assert.deepEqual(errors, [
      'spec.update.pause: unknown field (known: maxSurge, maxUnavailable, progressDeadlineSeconds)',
      'spec.update.maxSurge: must be an integer ≥ 0 or a percentage such as "25%", got string "25 %"',
      'spec.update.maxUnavailable: must be at most 100%, got "150%"',
      'spec.update.progressDeadlineSeconds: must be an integer between 1 and 86400, got number 0',
    ]);
  });

  it('refuses a rollout that could never move', () => {
    const result = validateDocument(doc({ maxSurge: 0 }), 0);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : `${result.errors[0].path}: ${result.errors[0].message}`, /^spec\.update\.maxUnavailable: must not be 0 when maxSurge is 0/);
  });

  it('keeps the template in a revision and puts it back under the current count and limits', () => {
    const template = templateSpecOf({ replicas: 3, image: 'web:1', env: { A: '1' }, update: { maxSurge: 1 } });
    assert.deepEqual(template, { image: 'web:1', env: { A: '1' } });
    assert.deepEqual(specWithTemplate({ replicas: 5, image: 'web:2', update: { maxSurge: 2 } }, template),
      { image: 'web:1', env: { A: '1' }, replicas: 5, update: { maxSurge: 2 } });
  });
});
