import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { UsageError } from '../cli/args';
import { logParams } from './logs.command';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const options = (entries: Array<[string, string]>) => new Map(entries);

describe('tsctl logs options', () => {
  it('turns --tail, --since (a duration ago, or a time), -p and -f into the API\'s parameters', () => {
    assert.deepEqual(logParams(options([['tail', '20'], ['since', '5m'], ['follow', '']]), NOW),
      { follow: '1', previous: undefined, tailLines: '20', sinceTime: '2024-05-01T11:55:00.000Z' });
    assert.equal(logParams(options([['since', '2h']]), NOW).sinceTime, '2024-05-01T10:00:00.000Z');
    assert.equal(logParams(options([['since', '2024-04-30T08:00:00+02:00']]), NOW).sinceTime, '2024-04-30T06:00:00.000Z');
    assert.deepEqual(logParams(options([['previous', '']]), NOW), { follow: undefined, previous: '1', tailLines: undefined, sinceTime: undefined });
  });

  it('refuses what it cannot read, naming the option', () => {
    for (const [entries, message] of [
      [[['tail', '-3']], /--tail: expected a number of lines/],
      [[['since', 'yesterday']], /--since: expected a duration \(10s, 5m, 2h\) or an RFC 3339 time/],
      [[['since', '5d']], /--since: expected a duration/],
      [[['previous', ''], ['follow', '']], /--previous: the previous container has exited and cannot be followed/],
    ] as Array<[Array<[string, string]>, RegExp]>) {
      assert.throws(() => logParams(options(entries), NOW), (error: Error) => error instanceof UsageError && message.test(error.message));
    }
  });
});
