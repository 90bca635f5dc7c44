/**
 * The answer of every check in this lib. 401 and 403 are values, not exceptions: 401 when the caller
 * is not known (no credential, a bad or expired one), 403 when it is known but not allowed. The
 * reason is safe to show to the caller.
 */
export type Decision =
  | { allowed: true; /** View roles read Secrets with their values redacted. */ redact?: true }
  | { allowed: false; status: 401 | 403; reason: string };

export type Refusal = Extract<Decision, { allowed: false }>;

export const ALLOWED: Decision = Object.freeze({ allowed: true });

export function unauthenticated(reason: string): Refusal {
  return { allowed: false, status: 401, reason };
}

export function forbidden(reason: string): Refusal {
  return { allowed: false, status: 403, reason };
}

/** A parse or check result for plain input (a flag, a header): the value, or what is wrong with it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
