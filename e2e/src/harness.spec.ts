/**
 * The harness's teardown steps: a step that never ends must not hold a test file until its deadline.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { teardownStep } from './harness';

describe('teardownStep', () => {
  it('answers what the step answers when it ends in time', async () => {
    assert.equal(await teardownStep('a quick step', 5, async () => 'done', 'given up'), 'done');
    assert.equal(await teardownStep('a sync step', 5, () => 42, -1), 42);
  });

  it('gives up on a step that never ends, answering the given value', async () => {
    const never = () => new Promise<string>(() => undefined);
    assert.equal(await teardownStep('a hung step', 0.2, never, 'given up'), 'given up');
  });

  it('passes a step\'s failure on', async () => {
    await assert.rejects(teardownStep('a failing step', 5, async () => {
      throw new Error('no such file');
    }, undefined), /no such file/);
  });
});
