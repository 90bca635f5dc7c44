/**
 * Per-key retry with exponential back-off, as Kubernetes' workqueue rate limiter: a key that failed
 * is left alone until its delay has passed, the delay doubling with each failure in a row up to a
 * cap, and forgotten on its first success. Pure bookkeeping; the caller's loop asks `due` per key.
 */
export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;

export interface KeyFailure {
  /** Failures in a row. */
  failures: number;
  /** When the key may be tried again (epoch ms). */
  retryAt: number;
  lastError: string;
}

export class RetryBackoff {
  private readonly failing = new Map<string, KeyFailure>();

  constructor(private readonly initialMs = BACKOFF_INITIAL_MS, private readonly maxMs = BACKOFF_MAX_MS) {}

  /** Whether the key may be tried now (never failed, or its delay has passed). */
  due(key: string, now = Date.now()): boolean {
    const failure = this.failing.get(key);
    return !failure || now >= failure.retryAt;
  }

  /** Records a failure; the answer says how long the key now waits and how many failures in a row. */
  failed(key: string, error: string, now = Date.now()): KeyFailure {
    const failures = (this.failing.get(key)?.failures ?? 0) + 1;
    // initial * 2^(failures-1): 1 s, 2 s, 4 s ... capped.
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(failures - 1, 30));
    const failure = { failures, retryAt: now + delay, lastError: error };
    this.failing.set(key, failure);
    return failure;
  }

  /** The key succeeded: it is tried normally from now on. Answers whether it had been failing. */
  succeeded(key: string): boolean {
    return this.failing.delete(key);
  }

  failure(key: string): KeyFailure | undefined {
    return this.failing.get(key);
  }
}
