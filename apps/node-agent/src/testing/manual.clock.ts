/** A clock for tests: time moves only when the test says so, and due timers fire in order. */
import { Clock, TimerHandle } from '../reconcile/clock';

export class ManualClock implements Clock {
  private timers: { atMs: number; callback: () => void; seq: number }[] = [];
  private seq = 0;

  constructor(private current = 1_000_000) {}

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer = { atMs: this.current + Math.max(0, delayMs), callback, seq: this.seq++ };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }

  /** Moves time forward, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.atMs <= target).sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.atMs);
      due.callback();
    }
    this.current = target;
  }

  /** Delay of the next pending timer, if any. */
  nextTimerInMs(): number | undefined {
    const next = Math.min(...this.timers.map((t) => t.atMs));
    return Number.isFinite(next) ? next - this.current : undefined;
  }
}
