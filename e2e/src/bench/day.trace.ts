/**
 * A per-minute request trace (`period,count`, one minute a row, as the WorldCup98 file in the shared
 * data folder): read, cut to a window of whole days, and scaled so that its busiest minute is the
 * modelled cluster's chosen peak. Bad input is an error naming the file and line.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_TRACE = 'worldcup98-requests-per-minute.csv';

export interface TraceWindow {
  /** Start of the first minute, epoch ms (UTC). */
  startMs: number;
  /** Requests in each minute of the window, as in the file. */
  counts: number[];
  busiestMinute: { at: string; count: number };
  /** The file's minutes in the 8 days before the window (what a predictive autoscaler would remember), epoch ms → count. */
  before: Map<number, number>;
}

/** Days of history before the window handed to a predictive autoscaler: its longest season (a week) and a day. */
export const HISTORY_DAYS = 8;

/**
 * The default trace: `$TIDE_DATA/<file>` when set, else the first `shared/data/<file>` found walking
 * up from the working directory and from this file (the shared data folder sits beside the checkout
 * as `../shared/data`, and beside a worktree's parent as well).
 */
export function defaultTracePath(): string {
  const tried: string[] = [];
  if (process.env.TIDE_DATA) tried.push(path.join(process.env.TIDE_DATA, DEFAULT_TRACE));
  for (const start of [process.cwd(), __dirname]) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      tried.push(path.join(dir, 'shared', 'data', DEFAULT_TRACE));
      if (path.dirname(dir) === dir) break;
    }
  }
  const found = tried.find((file) => existsSync(file));
  if (!found) throw new Error(`no trace given and ${DEFAULT_TRACE} not found (set TIDE_DATA to its folder, or pass --trace FILE)`);
  return found;
}

/** Minutes of the file as epoch ms → count; a line that is not `YYYY-MM-DD HH:MM[:SS],count` is an error. */
export function readTrace(file: string): Map<number, number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--trace ${file}: ${(error as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  if (!/^period,count$/.test(lines[0]?.trim() ?? '')) throw new Error(`${file}:1: the header must be "period,count", got "${lines[0]}"`);
  const minutes = new Map<number, number>();
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2})?,(\d+)$/.exec(line.trim());
    const ms = match ? Date.parse(`${match[1]}T${match[2]}:00Z`) : NaN;
    if (!match || !Number.isFinite(ms)) throw new Error(`${file}:${i + 2}: expected "YYYY-MM-DD HH:MM:SS,count", got "${line}"`);
    minutes.set(ms, (minutes.get(ms) ?? 0) + Number(match[4]));
  });
  if (minutes.size === 0) throw new Error(`${file}: no rows after the header`);
  return minutes;
}

/** `days` whole days from `from` (YYYY-MM-DD, UTC); a minute missing from the file counts 0 requests. */
export function traceWindow(minutes: Map<number, number>, file: string, from: string, days: number): TraceWindow {
  const startMs = Date.parse(`${from}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !Number.isFinite(startMs)) throw new Error(`--from wants a date YYYY-MM-DD, got "${from}"`);
  if (!Number.isInteger(days) || days < 1) throw new Error(`--days wants a whole number of days ≥ 1, got "${days}"`);
  const counts = Array.from({ length: days * 1440 }, (_, i) => minutes.get(startMs + i * 60_000) ?? 0);
  const covered = counts.filter((_, i) => minutes.has(startMs + i * 60_000)).length;
  if (covered < counts.length * 0.9) {
    const [first, last] = firstAndLast(minutes);
    const span = `${new Date(first).toISOString().slice(0, 16)} to ${new Date(last).toISOString().slice(0, 16)}`;
    throw new Error(`${file} covers only ${covered} of the ${counts.length} minutes from ${from} for ${days} day(s) (it spans ${span})`);
  }
  let busiest = 0;
  counts.forEach((c, i) => (busiest = c > counts[busiest] ? i : busiest));
  if (counts[busiest] === 0) throw new Error(`${file}: no request in the window from ${from} for ${days} day(s)`);
  const before = new Map<number, number>();
  for (let ms = startMs - HISTORY_DAYS * 86_400_000; ms < startMs; ms += 60_000) {
    const count = minutes.get(ms);
    if (count !== undefined) before.set(ms, count);
  }
  return { startMs, counts, before, busiestMinute: { at: new Date(startMs + busiest * 60_000).toISOString().slice(0, 16).replace('T', ' '), count: counts[busiest] } };
}

/**
 * Every window of `days` whole days the file holds with the full history before it, back to back:
 * the first starts HISTORY_DAYS after the file's first day, the last ends by its last minute.
 */
export function everyWindow(minutes: Map<number, number>, file: string, days: number): string[] {
  const [first, last] = firstAndLast(minutes);
  const dayMs = 86_400_000;
  const froms: string[] = [];
  for (let start = Math.ceil(first / dayMs) * dayMs + HISTORY_DAYS * dayMs; start + days * dayMs - 60_000 <= last; start += days * dayMs) {
    froms.push(new Date(start).toISOString().slice(0, 10));
  }
  if (froms.length === 0) throw new Error(`${file} holds no window of ${days} day(s) with ${HISTORY_DAYS} days before it`);
  return froms;
}

/** The file's first and last minute, epoch ms. */
function firstAndLast(minutes: Map<number, number>): [number, number] {
  let [first, last] = [Infinity, -Infinity];
  for (const ms of minutes.keys()) [first, last] = [Math.min(first, ms), Math.max(last, ms)];
  return [first, last];
}
