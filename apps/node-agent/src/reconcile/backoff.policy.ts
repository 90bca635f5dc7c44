/**
 * Exponential backoff, as the kubelet restarts crashing containers: 1 s, 2 s, 4 s ... capped at 60 s,
 * forgotten once a container has run for 10 minutes. The same shape (other numbers) paces the agent's
 * reconnects to the control plane.
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 60_000 };
/** A container that ran this long without exiting has recovered: its next restart is quick again. */
export const RESTART_BACKOFF_RESET_AFTER_MS = 10 * 60_000;

/** The delay before attempt number `attempt` (1-based): initial × 2^(attempt-1), capped. 0 for attempt ≤ 0. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = RESTART_BACKOFF): number {
  if (attempt <= 0) return 0;
  // 2 ** 1024 is Infinity, and Math.min handles it: no overflow for large attempt counts.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
}

/** The consecutive-failure count after an exit of a container that ran for `ranForMs`. */
export function nextConsecutiveFailures(previous: number, ranForMs: number): number {
  return ranForMs >= RESTART_BACKOFF_RESET_AFTER_MS ? 1 : previous + 1;
}
