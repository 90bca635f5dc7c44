import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatCpu, formatMemory, parseCpu, parseMemory } from './quantity';

describe('parseCpu', () => {
  const valid: [string | number, number][] = [
    ['250m', 250],
    ['0.5', 500], // 0.5 core * 1000
    [2, 2000],
    ['1.25', 1250],
    ['1e0', 1000],
  ];
  for (const [input, millis] of valid) it(`${JSON.stringify(input)} → ${millis}m`, () => assert.equal(parseCpu(input), millis));
  for (const bad of ['abc', '-1', '1.5m', '', '2 cores', '0.0005']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseCpu(bad), /invalid quantity/));
  }
});

describe('parseMemory', () => {
  const valid: [string | number, number][] = [
    ['64Mi', 64 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['500k', 500_000],
    [1024, 1024],
    ['1e3', 1000],
  ];
  for (const [input, bytes] of valid) it(`${JSON.stringify(input)} → ${bytes}`, () => assert.equal(parseMemory(input), bytes));
  for (const bad of ['12Qi', 'abc', '-5Mi', '1.2.3', 'Mi']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseMemory(bad), /invalid quantity/));
  }
});

describe('format', () => {
  it('prints millicores and binary sizes as users write them', () => {
    assert.equal(formatCpu(250), '250m');
    assert.equal(formatCpu(2000), '2');
    assert.equal(formatMemory(64 * 2 ** 20), '64Mi');
    assert.equal(formatMemory(3 * 2 ** 30), '3Gi');
    assert.equal(formatMemory(12210976 * 1024), '11.6Gi'); // 12503539712 / 2^30 = 11.64
  });
});
