/**
 * Following an endless stream (the watch, the Events view's): read it, and read it again after a
 * growing pause when it ends or fails (the browser drops it when the machine's network changes; a
 * control plane restarts), until the view is left or the caller says stop (a refused token).
 */
import { ApiError } from './session';

/** The pause before following again, doubled up to MAX_PAUSE_MS while the stream keeps failing. */
const FIRST_PAUSE_MS = 500;
const MAX_PAUSE_MS = 10_000;

export interface FollowHandlers {
  /** The stream ended without an error; it is followed again. */
  ended?(): void;
  /** It failed; answer 'stop' to follow it no more. */
  failed?(error: unknown): 'stop' | void;
}

export async function followAgain(signal: AbortSignal, follow: () => Promise<void>, handlers: FollowHandlers = {}): Promise<void> {
  let pause = FIRST_PAUSE_MS;
  while (!signal.aborted) {
    try {
      await follow();
      pause = FIRST_PAUSE_MS;
      handlers.ended?.();
    } catch (error) {
      if (signal.aborted || handlers.failed?.(error) === 'stop') return;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, MAX_PAUSE_MS);
  }
}

/** The API refused the caller (401) or its role (403): following again would not help. */
export function isRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}
