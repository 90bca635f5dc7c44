/**
 * Test helper shared by every package (`@tide/api/testing`): wait for a condition instead of
 * sleeping a fixed time. The suite runs on busy 2-core CI machines, so deadlines are generous; a
 * test that needs one never asserts how fast something happened (timing targets are benchmarks).
 */

export interface WaitOptions {
  /** Said in the error when the deadline passes: "timed out after 30000 ms waiting for <what>". */
  what: string;
  /** Generous by default: a healthy run waits milliseconds, a loaded one seconds. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Added to the error when the deadline passes: the state last seen, to tell why. */
  detail?: () => string;
}

export const DEFAULT_WAIT_MS = 30_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` until it answers a value other than `undefined`, `null` or `false`, and answers
 * that value. A condition that throws counts as not yet; its last error is named if the deadline passes.
 */
type Pending = undefined | null | false;

export async function waitFor<T>(condition: () => T | Pending | Promise<T | Pending>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) break;
    await pause(options.intervalMs ?? 20);
  }
  const detail = options.detail ? `; last seen: ${options.detail()}` : '';
  const cause = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}${cause}${detail}`);
}
