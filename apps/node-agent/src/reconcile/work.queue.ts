/**
 * A keyed work queue in the shape of client-go's: adding a key that is already queued does nothing,
 * a key is never processed by two workers at once (added while processing, it runs once more after),
 * and a failed key is retried with exponential backoff up to a retry cap.
 */
import { BackoffPolicy, backoffDelayMs } from './backoff.policy';
import { Clock, TimerHandle, systemClock } from './clock';

export interface WorkQueueOptions {
  concurrency: number;
  retryBackoff: BackoffPolicy;
  /** After this many consecutive failures a key is dropped until something adds it again. */
  maxRetries: number;
  clock?: Clock;
  onError?: (key: string, error: unknown, willRetry: boolean) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added while being processed: queued again when that run ends. */
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { atMs: number; timer: TimerHandle }>();
  private readonly failures = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  private shutDown = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  add(key: string): void {
    if (this.shutDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shutDown) return;
    if (delayMs <= 0) return this.add(key);
    const atMs = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.atMs <= atMs) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { atMs, timer });
  }

  /** Consecutive failures of the key so far. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  shutdown(): void {
    this.shutDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  /** Resolves once nothing is queued or processing (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  private pump(): void {
    while (this.processing.size < this.options.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      void this.process(key);
    }
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (error) {
      this.retryLater(key, error);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }

  private retryLater(key: string, error: unknown): void {
    const failures = this.retries(key) + 1;
    const willRetry = failures <= this.options.maxRetries;
    this.options.onError?.(key, error, willRetry);
    if (!willRetry) {
      this.failures.delete(key);
      return;
    }
    this.failures.set(key, failures);
    this.addAfter(key, backoffDelayMs(failures, this.options.retryBackoff));
  }
}
