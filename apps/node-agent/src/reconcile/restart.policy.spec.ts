import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { RestartPolicy } from '@tide/api';
import { ExitFacts, exitReason, shouldRestart } from './restart.policy';

const completed: ExitFacts = { code: 0, signal: null, oomKilled: false };
const failed: ExitFacts = { code: 3, signal: null, oomKilled: false };
const terminated: ExitFacts = { code: null, signal: 'SIGTERM', oomKilled: false };
const killed: ExitFacts = { code: null, signal: 'SIGKILL', oomKilled: false };
const oom: ExitFacts = { code: null, signal: 'SIGKILL', oomKilled: true };
const unknown: ExitFacts = { code: null, signal: null, oomKilled: false };

describe('restart decision', () => {
  const table: [RestartPolicy, ExitFacts, string, boolean][] = [
    ['Always', completed, 'code 0', true],
    ['Always', failed, 'code 3', true],
    ['OnFailure', completed, 'code 0', false],
    ['OnFailure', failed, 'code 3', true],
    ['OnFailure', terminated, 'SIGTERM', true],
    ['OnFailure', oom, 'OOM kill', true],
    ['OnFailure', unknown, 'unknown exit (adopted container)', true],
    ['Never', completed, 'code 0', false],
    ['Never', failed, 'code 3', false],
    ['Never', oom, 'OOM kill', false],
  ];
  for (const [policy, exit, what, expected] of table) {
    it(`${policy} ${expected ? 'restarts' : 'leaves'} a container after ${what}`, () => assert.equal(shouldRestart(policy, exit), expected));
  }
});

describe('exit reason', () => {
  const table: [ExitFacts, string][] = [
    [completed, 'Completed'],
    [failed, 'Error'],
    [terminated, 'Error'],
    [killed, 'Killed'],
    [oom, 'OOMKilled'],
    [{ code: 0, signal: null, oomKilled: true }, 'OOMKilled'],
    [unknown, 'Unknown'],
  ];
  for (const [exit, expected] of table) it(`${JSON.stringify(exit)} is ${expected}`, () => assert.equal(exitReason(exit), expected));
});
