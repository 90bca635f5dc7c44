import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DiskMonitor } from './disk.monitor';
import { FsStats } from './disk.pressure';

const GI = 1024 ** 3;
const disk = (availableGi: number): FsStats => ({ totalBytes: 100 * GI, availableBytes: availableGi * GI, totalInodes: 1000, freeInodes: 900 });

describe('DiskMonitor', () => {
  const setUp = (available: { gi: number }, freesGi: number) => {
    const logs: string[] = [];
    let now = 0;
    let reclaims = 0;
    const monitor = new DiskMonitor({
      stateDir: '/state', imageDir: '/images', thresholds: { 'nodefs.available': { percent: 10 } }, intervalMs: 10_000, transitionMs: 30_000,
      statfs: () => disk(available.gi), now: () => now, log: (line) => logs.push(line),
      reclaim: async () => {
        reclaims++;
        available.gi += freesGi;
        return freesGi > 0 ? [`freed ${freesGi}Gi`] : [];
      },
    });
    return { monitor, logs, reclaims: () => reclaims, at: (ms: number) => (now = ms) };
  };

  it('frees what it can first, and reports no pressure when that was enough', async () => {
    const available = { gi: 5 };
    const { monitor, logs, reclaims } = setUp(available, 10);
    await monitor.check();
    assert.equal(reclaims(), 1);
    assert.equal(monitor.pressure(), undefined, '5 + 10 = 15 GiB of 100 is above 10%');
    assert.match(logs.join('\n'), /disk pressure \(nodefs.available 5.0Gi \(5%\) < 10%\): freed 10Gi/);
  });

  it('reports DiskPressure while freeing is not enough, and clears it after the transition period', async () => {
    const available = { gi: 3 };
    const { monitor, logs, at } = setUp(available, 0);
    at(1000);
    await monitor.check();
    assert.deepEqual(monitor.pressure(), { since: 1000, message: 'nodefs.available 3.0Gi (3%) < 10%' });
    available.gi = 50; // a user removed files
    at(11_000);
    await monitor.check();
    assert.ok(monitor.pressure(), 'still within the transition period');
    at(41_000);
    await monitor.check();
    assert.equal(monitor.pressure(), undefined);
    assert.deepEqual(logs.filter((l) => l.startsWith('DiskPressure')), ['DiskPressure: nodefs.available 3.0Gi (3%) < 10%; the node takes no new replicas', 'DiskPressure cleared']);
  });
});
