/**
 * prom-client asks every metric for its values at once on a scrape (each metric's collect runs in
 * the same tick). A scrape cache lets all of them share one read of the underlying files: the value
 * is read once and served for maxAgeMs (a concurrent or immediately following scrape reuses it).
 */
export class ScrapeCache<T> {
  private value?: Promise<T>;
  private readAt = 0;

  constructor(
    private readonly read: () => Promise<T> | T,
    private readonly maxAgeMs = 250,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    if (!this.value || this.now() - this.readAt > this.maxAgeMs) {
      this.readAt = this.now();
      this.value = Promise.resolve().then(this.read);
      // A failed read is not kept: the next scrape tries again.
      this.value.catch(() => { this.value = undefined; });
    }
    return this.value;
  }

  /** The next get() reads anew, whatever the age of the value (a read in flight still serves its callers). */
  expire(): void {
    this.value = undefined;
  }
}
