/**
 * A replica over its ephemeral-storage limit is evicted through the reconciler's kill path: its
 * container is stopped and removed (its writable layer with it), the exit is recorded with reason
 * EphemeralStorageExceeded, and restartPolicy decides whether a container starts again on a fresh layer.
 * An emptyDir over its sizeLimit evicts the replica itself: Failed with reason Evicted, never restarted
 * on the node (the control plane replaces it).
 */
import { after, afterEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EphemeralStorageGuard, MeasuredContainer, evictionVerdict } from '../disk/ephemeral.storage';
import { assignment } from '../testing/assignments';
import { ReconcilerHarness, removeTempDirs, tempDir } from '../testing/reconciler.harness';

describe('reconciler evicting a container over its ephemeral-storage limit', () => {
  let h: ReconcilerHarness;
  afterEach(() => h.reconciler.stop());
  after(removeTempDirs);

  const setUp = () => {
    // The fake runtime has no layers: the guard is told which containers are limited, and their use.
    let used = 0;
    const limited: MeasuredContainer[] = [];
    const guard: EphemeralStorageGuard = new EphemeralStorageGuard({
      containers: () => limited, measure: () => used, intervalMs: 1000, log: () => undefined,
      onExceeded: (key) => h.reconciler.probesChanged(key),
    });
    h = new ReconcilerHarness(tempDir(), undefined, { probes: (record) => evictionVerdict(guard, record) ?? { ready: true } });
    return { guard, limited, use: (bytes: number) => (used = bytes) };
  };

  for (const [policy, restarts] of [['Always', true], ['Never', false]] as const) {
    it(`records EphemeralStorageExceeded, and restartPolicy ${policy} ${restarts ? 'starts it again' : 'keeps it down'}`, async () => {
      const { guard, limited, use } = setUp();
      await h.desire(assignment('web-1', { template: { restartPolicy: policy, limits: { ephemeralStorageBytes: 1000 } } }));
      limited.push({ key: 'default/web-1', dir: '/layers/web-1', limitBytes: 1000 });
      use(999);
      guard.check();
      await h.advance(10);
      assert.equal(h.runtime.starts('default.web-1'), 1, 'under the limit: left alone');
      use(5000);
      guard.check();
      await h.advance(10);
      const { record } = h.view('web-1');
      assert.equal(record.lastExit?.reason, 'EphemeralStorageExceeded');
      assert.equal(record.finished, restarts ? undefined : 'failed');
      limited.length = 0; // that container is gone
      guard.check();
      await h.advance(60_000);
      assert.equal(h.runtime.starts('default.web-1'), restarts ? 2 : 1);
    });
  }

  it('an emptyDir over its sizeLimit: Failed with reason Evicted and the message, not restarted even with restartPolicy Always', async () => {
    const { guard, limited, use } = setUp();
    await h.desire(assignment('web-1', { template: { restartPolicy: 'Always' } }));
    limited.push({ key: 'default/web-1', dir: '/state/empty-dirs/default.web-1/cache', limitBytes: 1000, reason: 'Evicted', describe: (used) => `emptyDir volume "cache" used ${used}` });
    use(5000);
    guard.check();
    await h.advance(10);
    limited.length = 0;
    guard.check();
    await h.advance(60_000);
    const { record, phase } = h.view('web-1');
    assert.equal(record.lastExit?.reason, 'Evicted');
    assert.equal(record.message, 'Evicted: emptyDir volume "cache" used 5000');
    assert.equal(phase, 'Failed');
    assert.equal(h.runtime.starts('default.web-1'), 1);
  });
});
