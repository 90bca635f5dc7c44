import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CronError, nextFireTime, parseCron, previousFireTime } from './cron';

const values = (allowed: boolean[]) => allowed.flatMap((on, i) => (on ? [i] : []));
const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

describe('parseCron', () => {
  const fields: [string, keyof ReturnType<typeof parseCron>, number[]][] = [
    ['5,10,15 * * * *', 'minutes', [5, 10, 15]],
    ['10-13 * * * *', 'minutes', [10, 11, 12, 13]],
    ['*/15 * * * *', 'minutes', [0, 15, 30, 45]],
    ['1-10/3 * * * *', 'minutes', [1, 4, 7, 10]],
    // "50/4": from 50 to the end of the field in steps of 4 (Vixie cron).
    ['50/4 * * * *', 'minutes', [50, 54, 58]],
    ['0 9-17/4,23 * * *', 'hours', [9, 13, 17, 23]],
    ['0 0 * jan,MAR-may *', 'months', [1, 3, 4, 5]],
    ['0 0 * * mon-fri', 'daysOfWeek', [1, 2, 3, 4, 5]],
    // 7 is Sunday too.
    ['0 0 * * 5-7', 'daysOfWeek', [0, 5, 6]],
    ['0 0 1,15 * *', 'daysOfMonth', [1, 15]],
  ];
  for (const [text, field, expected] of fields) {
    it(`${text} → ${field} ${expected.join(',')}`, () => assert.deepEqual(values(parseCron(text)[field] as boolean[]), expected));
  }

  const bad: [string, RegExp][] = [
    ['* * * *', /5 fields.*got 4/],
    ['', /5 fields.*got 0/],
    ['60 * * * *', /minute: 60 is out of range 0-59/],
    ['* 24 * * *', /hour: 24 is out of range 0-23/],
    ['* * 0 * *', /day of month: 0 is out of range 1-31/],
    ['* * * 13 *', /month: 13 is out of range 1-12/],
    ['* * * * 8', /day of week: 8 is out of range 0-7/],
    ['*/0 * * * *', /step must be at least 1/],
    ['10-5 * * * *', /runs backwards/],
    ['a * * * *', /minute: "a" is not a number/],
    ['1/2/3 * * * *', /not a value, range or step/],
    ['* * * foo *', /month: "foo" is not a number/],
    ['0 0 30 2 *', /never fires/],
  ];
  for (const [text, message] of bad) {
    it(`refuses "${text}"`, () => assert.throws(() => parseCron(text), (e: Error) => e instanceof CronError && message.test(e.message)));
  }

  it('29 February fires (leap years)', () => assert.doesNotThrow(() => parseCron('0 0 29 2 *')));
});

describe('fire times', () => {
  it('finds the last firing at or before a time, within a lower bound', () => {
    const e = parseCron('0 0 11 11 *');
    const now = at('2025-11-11T01:30:00Z');
    assert.equal(previousFireTime(e, 'UTC', now, now - 2 * 3600_000), at('2025-11-11T00:00:00Z'));
    // An hour's window from 01:30 does not reach back to midnight.
    assert.equal(previousFireTime(e, 'UTC', now, now - 3600_000), undefined);
    // Exactly at the firing minute counts.
    assert.equal(previousFireTime(e, 'UTC', at('2025-11-11T00:00:00Z'), at('2025-11-10T00:00:00Z')), at('2025-11-11T00:00:00Z'));
  });

  it('reads the fields in the given time zone', () => {
    const e = parseCron('0 0 11 11 *');
    // Midnight on 11 November in Shanghai (UTC+8) is 16:00 UTC on the 10th.
    assert.equal(nextFireTime(e, 'Asia/Shanghai', at('2025-11-01T00:00:00Z')), at('2025-11-10T16:00:00Z'));
    // New York is UTC-5 in November: midnight there is 05:00 UTC.
    assert.equal(nextFireTime(e, 'America/New_York', at('2025-11-01T00:00:00Z')), at('2025-11-11T05:00:00Z'));
  });

  it('follows daylight saving time: 09:00 in Paris is 07:00 UTC in summer, 08:00 in winter', () => {
    const e = parseCron('0 9 * * *');
    assert.equal(nextFireTime(e, 'Europe/Paris', at('2025-07-01T12:00:00Z')), at('2025-07-02T07:00:00Z'));
    assert.equal(nextFireTime(e, 'Europe/Paris', at('2025-12-01T12:00:00Z')), at('2025-12-02T08:00:00Z'));
  });

  // With both day fields restricted, either may match; with one a bare "*", only the other counts.
  const days: [string, string, string][] = [
    // 2025-06-13 is a Friday; the 1st of July is a Tuesday.
    ['0 0 13 * 5', '2025-06-01T00:00:00Z', '2025-06-06T00:00:00Z'], // the first Friday, before the 13th
    ['0 0 13 * *', '2025-06-01T00:00:00Z', '2025-06-13T00:00:00Z'],
    ['0 0 * * 5', '2025-06-01T00:00:00Z', '2025-06-06T00:00:00Z'],
    ['0 0 */10 * 2', '2025-06-22T00:00:00Z', '2025-06-24T00:00:00Z'], // "*/10" restricts (Kubernetes): the 1st, 11th... or a Tuesday
    ['0 0 */10 * 2', '2025-06-25T00:00:00Z', '2025-07-01T00:00:00Z'], // Tuesday the 1st
    ['0 0 */10 * *', '2025-06-22T00:00:00Z', '2025-07-01T00:00:00Z'], // 21, 31 (June has 30 days), then 1 July
    ['30 12 1 1 *', '2025-06-01T00:00:00Z', '2026-01-01T12:30:00Z'],
    ['0 0 29 2 *', '2025-01-01T00:00:00Z', '2028-02-29T00:00:00Z'],
  ];
  for (const [text, from, expected] of days) {
    it(`${text} after ${from} is ${expected}`, () => assert.equal(nextFireTime(parseCron(text), 'UTC', at(from)), at(expected)));
  }

  it('agrees with itself: the previous firing before a next firing plus a minute is that firing', () => {
    for (const text of ['*/7 3-5 * * 1-5', '15 */6 1,15 * *', '0 0 * * sun']) {
      const e = parseCron(text);
      let t = at('2025-03-01T00:00:00Z');
      for (let i = 0; i < 20; i++) {
        const next = nextFireTime(e, 'Europe/Berlin', t)!;
        assert.equal(previousFireTime(e, 'Europe/Berlin', next + 59_000, next - 8 * DAY), next, `${text} #${i}`);
        t = next;
      }
    }
  });
});
