/**
 * Five-field cron expressions as Vixie cron (and Kubernetes CronJobs) read them, evaluated in an IANA
 * time zone: minute hour day-of-month month day-of-week, each a list of values, ranges `a-b`, `*`
 * and steps (`*\/15`, `1-10/3`, `5/10` = from 5 to the end), names for months and weekdays (jan,
 * mon), 0 or 7 for Sunday. When both day fields are restricted (neither is a bare `*`) a day
 * matches if either matches; otherwise both must (so `*` in one defers to the other). As in
 * Kubernetes CronJobs (robfig/cron), a stepped star such as `*\/10` restricts; Vixie cron would
 * treat any field starting with `*` as unrestricted.
 *
 * Here (not in libs/autoscaler) because manifest validation parses schedules and reports bad ones
 * by field path; the autoscaler asks when a schedule last fired.
 */

export class CronError extends Error {}

export interface CronExpression {
  source: string;
  minutes: boolean[];
  hours: boolean[];
  daysOfMonth: boolean[];
  months: boolean[];
  /** 0-6, Sunday = 0 (7 is folded into 0). */
  daysOfWeek: boolean[];
  domRestricted: boolean;
  dowRestricted: boolean;
}

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS: FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 7, names: DAY_NAMES },
];
/** The longest February: a day-of-month beyond a month's length never fires in it. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MINUTE_MS = 60_000;
const UNRESTRICTED = ['*', '*/1'];

export function parseCron(text: string): CronExpression {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5 || parts[0] === '') {
    throw new CronError(`"${text}" must have 5 fields (minute hour day-of-month month day-of-week), got ${parts[0] === '' ? 0 : parts.length}`);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parts.map((part, i) => parseField(part, FIELDS[i]));
  daysOfWeek[0] = daysOfWeek[0] || daysOfWeek[7];
  const expression: CronExpression = {
    source: text.trim(), minutes, hours, daysOfMonth, months, daysOfWeek: daysOfWeek.slice(0, 7),
    domRestricted: !UNRESTRICTED.includes(parts[2]), dowRestricted: !UNRESTRICTED.includes(parts[4]),
  };
  if (expression.domRestricted && !expression.dowRestricted && !someMonthHasADay(expression)) {
    throw new CronError(`"${text}" never fires: no chosen month has the chosen day of month`);
  }
  return expression;
}

function parseField(text: string, rule: FieldRule): boolean[] {
  const allowed: boolean[] = new Array(rule.max + 1).fill(false);
  for (const item of text.split(',')) {
    const [rangeText, stepText, extra] = item.split('/');
    if (extra !== undefined || rangeText === '') throw new CronError(`${rule.name}: "${item}" is not a value, range or step`);
    const step = stepText === undefined ? 1 : number(stepText, `${rule.name}: step "${stepText}"`);
    if (step < 1) throw new CronError(`${rule.name}: step must be at least 1`);
    let [low, high] = [rule.min, rule.max];
    if (rangeText !== '*') {
      const [from, to, more] = rangeText.split('-');
      if (more !== undefined) throw new CronError(`${rule.name}: "${rangeText}" is not a range`);
      low = value(from, rule);
      // "5/10" runs from 5 to the end of the field, as in Vixie cron.
      high = to !== undefined ? value(to, rule) : stepText !== undefined ? rule.max : low;
      if (low > high) throw new CronError(`${rule.name}: range "${rangeText}" runs backwards`);
    }
    for (let v = low; v <= high; v += step) allowed[v] = true;
  }
  return allowed;
}

function value(token: string, rule: FieldRule): number {
  const named = rule.names?.indexOf(token.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + (rule.min === 1 ? 1 : 0) : number(token, `${rule.name}: "${token}"`);
  if (n < rule.min || n > rule.max) throw new CronError(`${rule.name}: ${n} is out of range ${rule.min}-${rule.max}`);
  return n;
}

function number(token: string, what: string): number {
  if (!/^[0-9]+$/.test(token)) throw new CronError(`${what} is not a number`);
  return Number(token);
}

function someMonthHasADay(e: CronExpression): boolean {
  return MONTH_DAYS.some((days, m) => e.months[m + 1] && e.daysOfMonth.some((on, d) => on && d >= 1 && d <= days));
}

/** Wall-clock fields of a "naive" time: a Date whose UTC fields are the local time of the zone. */
function dayMatches(e: CronExpression, local: Date): boolean {
  const dom = e.daysOfMonth[local.getUTCDate()];
  const dow = e.daysOfWeek[local.getUTCDay()];
  return e.domRestricted && e.dowRestricted ? dom || dow : dom && dow;
}

/** How far to step back from a naive time to reach a candidate, 0 when it matches. */
function mismatchStepBack(e: CronExpression, local: Date): number {
  const ms = local.getTime();
  if (!e.months[local.getUTCMonth() + 1]) return ms - Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) + MINUTE_MS;
  if (!dayMatches(e, local)) return ms - Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) + MINUTE_MS;
  if (!e.hours[local.getUTCHours()]) return local.getUTCMinutes() * MINUTE_MS + MINUTE_MS;
  return e.minutes[local.getUTCMinutes()] ? 0 : MINUTE_MS;
}

/**
 * The latest time at or before `atMs` when the expression fires in `timeZone`, if it is not
 * earlier than `notBeforeMs`. Whole months, days and hours that cannot match are skipped, so a
 * window of weeks takes a few hundred steps. A local time that a clock change repeats or skips maps
 * to the instant the zone's offset just after it gives.
 */
export function previousFireTime(e: CronExpression, timeZone: string, atMs: number, notBeforeMs: number): number | undefined {
  const lowest = toNaive(notBeforeMs, timeZone) - MINUTE_MS;
  let naive = Math.floor(toNaive(atMs, timeZone) / MINUTE_MS) * MINUTE_MS;
  while (naive > lowest) {
    const back = mismatchStepBack(e, new Date(naive));
    if (back === 0) {
      const instant = fromNaive(naive, timeZone);
      return instant <= atMs && instant >= notBeforeMs ? instant : undefined;
    }
    naive -= back;
  }
  return undefined;
}

/** The first time after `afterMs` (within `horizonMs`) when the expression fires. */
export function nextFireTime(e: CronExpression, timeZone: string, afterMs: number, horizonMs = 5 * 366 * 86_400_000): number | undefined {
  const highest = toNaive(afterMs + horizonMs, timeZone);
  let naive = Math.floor(toNaive(afterMs, timeZone) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  while (naive <= highest) {
    const local = new Date(naive);
    if (!e.months[local.getUTCMonth() + 1]) naive = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1);
    else if (!dayMatches(e, local)) naive = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1);
    else if (!e.hours[local.getUTCHours()]) naive = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), local.getUTCHours() + 1);
    else if (!e.minutes[local.getUTCMinutes()]) naive += MINUTE_MS;
    else return fromNaive(naive, timeZone);
  }
  return undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone (Node ships the full time zone database). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's wall-clock time at an instant, as a naive time. */
function toNaive(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) + (ms % 1000 + 1000) % 1000;
}

/** The instant a naive wall-clock time stands for: its offset guessed, then corrected once. */
function fromNaive(naive: number, timeZone: string): number {
  const guess = naive - (toNaive(naive, timeZone) - naive);
  return naive - (toNaive(guess, timeZone) - guess);
}
