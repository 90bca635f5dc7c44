/**
 * When and how soon to restart a container: the restart policy, and an exponential backoff of 1 s
 * doubling to 60 s, forgotten once a container has run for 10 minutes (as the kubelet does).
 */
import { RestartPolicy } from '@tide/api';

export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 10 * 60_000;

export interface ExitFacts {
  code: number | null;
  signal: string | null;
  oomKilled: boolean;
}

export function exitSucceeded(exit: ExitFacts): boolean {
  return exit.code === 0 && !exit.oomKilled;
}

export function shouldRestart(policy: RestartPolicy, exit: ExitFacts): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return !exitSucceeded(exit);
  return false;
}

/** The delay before restart number `consecutiveFailures` (1-based): 1 s, 2 s, 4 s ... capped at 60 s. */
export function backoffDelayMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (consecutiveFailures - 1));
}

/** A container that ran long enough resets the backoff: its next restart is quick again. */
export function nextConsecutiveFailures(previous: number, ranForMs: number): number {
  return ranForMs >= BACKOFF_RESET_AFTER_MS ? 1 : previous + 1;
}

/** The reason shown to users for an exit, as Kubernetes names them. */
export function exitReason(exit: ExitFacts): string {
  if (exit.oomKilled) return 'OOMKilled';
  if (exit.code === 0) return 'Completed';
  if (exit.code === null && exit.signal === null) return 'Unknown';
  return 'Error';
}
