import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_DISK_THRESHOLDS, DiskReading, DiskThresholdError, PressureState, parseDiskThresholds, signalsUnderPressure } from './disk.pressure';

const GI = 1024 ** 3;
const fs = (totalGi: number, availableGi: number, totalInodes = 1_000_000, freeInodes = 900_000) =>
  ({ totalBytes: totalGi * GI, availableBytes: availableGi * GI, totalInodes, freeInodes });

describe('parseDiskThresholds', () => {
  it('reads kubelet --eviction-hard syntax: percentages, sizes and inode counts', () => {
    assert.deepEqual(parseDiskThresholds('nodefs.available<10%, imagefs.available<2Gi,nodefs.inodesFree<5000'), {
      'nodefs.available': { percent: 10 }, 'imagefs.available': { amount: 2 * GI }, 'nodefs.inodesFree': { amount: 5000 },
    });
  });

  it('names the part it cannot read and what it takes', () => {
    assert.throws(() => parseDiskThresholds('memory.available<100Mi'), (e: Error) => e instanceof DiskThresholdError && /memory.available<100Mi/.test(e.message) && /nodefs.available/.test(e.message));
    assert.throws(() => parseDiskThresholds('nodefs.available<120%'), /0-100%/);
    assert.throws(() => parseDiskThresholds('nodefs.inodesFree<lots'), /number of inodes/);
  });
});

describe('signalsUnderPressure', () => {
  it('is clear while every signal is at or above its threshold', () => {
    // 10 GiB of 100 is exactly 10%: not below.
    const reading: DiskReading = { nodefs: fs(100, 10), imagefs: fs(100, 15) };
    assert.deepEqual(signalsUnderPressure(reading, DEFAULT_DISK_THRESHOLDS), []);
  });

  it('names each crossed signal with what it measured', () => {
    // nodefs: 4 of 100 GiB = 4% < 10%; inodes 40k of 1M = 4% < 5%; imagefs on the same numbers 4% < 15%.
    const reading: DiskReading = { nodefs: fs(100, 4, 1_000_000, 40_000), imagefs: fs(100, 4, 1_000_000, 40_000) };
    assert.deepEqual(signalsUnderPressure(reading, DEFAULT_DISK_THRESHOLDS), [
      'nodefs.available 4.0Gi (4%) < 10%',
      'nodefs.inodesFree 40000 inodes (4%) < 5%',
      'imagefs.available 4.0Gi (4%) < 15%',
    ]);
  });

  it('takes amounts as well as shares, and skips inode signals of filesystems without inodes', () => {
    const reading: DiskReading = { nodefs: fs(100, 1.5, 0, 0), imagefs: fs(100, 50) };
    assert.deepEqual(signalsUnderPressure(reading, parseDiskThresholds('nodefs.available<2Gi,nodefs.inodesFree<10%')), ['nodefs.available 1.5Gi (1%) < 2.0Gi']);
  });
});

describe('PressureState', () => {
  it('turns on at the first crossed reading and off only after the transition period clear', () => {
    const state = new PressureState(30_000);
    assert.equal(state.observe([], 0), false);
    assert.equal(state.observe(['nodefs.available 1Gi (1%) < 10%'], 1_000), true);
    assert.equal(state.pressure?.since, 1_000);
    assert.equal(state.observe([], 11_000), true, '10 s clear of 30');
    assert.equal(state.observe(['nodefs.available 1Gi (1%) < 10%'], 20_000), true, 'crossed again: the period starts over');
    assert.equal(state.observe([], 49_000), true, '29 s clear');
    assert.equal(state.observe([], 50_000), false, '30 s clear');
    assert.equal(state.pressure, undefined);
  });
});
