/**
 * The newest `limit` items of a stream, oldest first: what a view of an endless stream keeps, so a
 * session left open for days holds a bounded amount (the Events view keeps 1,000 events).
 */
export class RecentList<T> {
  private kept: T[] = [];

  constructor(readonly limit: number) {}

  /** An array, not spread arguments: a first read of a long history may bring many thousands at once. */
  push(items: readonly T[]): void {
    const fresh = items.length > this.limit ? items.slice(items.length - this.limit) : items;
    this.kept = this.kept.concat(fresh);
    if (this.kept.length > this.limit) this.kept = this.kept.slice(this.kept.length - this.limit);
  }

  get items(): readonly T[] {
    return this.kept;
  }

  clear(): void {
    this.kept = [];
  }
}
