import type { Parsed } from './decision';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const PART = /(\d+)([smhdw])/g;
const WHOLE = /^(\d+[smhdw])+$/;

/** Upper bound of a token's lifetime: a credential that outlives this should be a certificate. */
export const MAX_TTL_MS = 366 * 86_400_000;

/**
 * A time to live as `tsctl token create --ttl` takes it: Go-style parts with days and weeks
 * (`30s`, `90m`, `24h`, `1h30m`, `7d`, `2w`), at least one second, at most a year.
 */
export function parseTtl(text: string, field = '--ttl'): Parsed<number> {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return { ok: false, reason: `${field}: "${text}" is not a duration (e.g. 30m, 24h, 7d, 1h30m)` };
  let ms = 0;
  for (const [, count, unit] of trimmed.matchAll(PART)) ms += Number(count) * UNIT_MS[unit];
  if (ms < 1000) return { ok: false, reason: `${field}: must be at least 1s` };
  if (ms > MAX_TTL_MS) return { ok: false, reason: `${field}: at most 366d` };
  return { ok: true, value: ms };
}
