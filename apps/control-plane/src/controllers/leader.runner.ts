/**
 * Runs the controllers while this control plane is the leader. Each loop is level-triggered: it
 * re-reads etcd every period (and sooner when a watch says something changed), so a new leader
 * simply starts converging from what is stored.
 */
import { Logger } from '@nestjs/common';
import { CacheChange } from '@tide/store';

/** A burst of changes is taken in by one run this long after its first change. */
const KICK_DELAY_MS = 20;

export interface Loop {
  name: string;
  periodMs: number;
  run(): Promise<void>;
  /** false: only the period runs it (a loop whose input is not etcd, such as the autoscaler's). */
  kicked?: boolean;
  /**
   * How long after a kick it runs (default KICK_DELAY_MS, to take a burst of changes in one run). A
   * loop that takes whatever has accumulated since its last run anyway (the scheduler) can say 0:
   * then a run follows the previous one at once while changes keep coming.
   */
  kickDelayMs?: number;
  /**
   * Which cache changes concern it (default every one): false, the change does not kick it; a
   * number, it kicks it after that many milliseconds rather than the loop's kick delay (a change
   * that matters less soon is taken in by a later, larger run).
   */
  kickedBy?(change: CacheChange): boolean | number;
}

export class LeaderRunner {
  private readonly logger = new Logger('LeaderRunner');
  private timers = new Map<string, NodeJS.Timeout>();
  /** When each loop's timer fires: a kick never postpones a run that is due sooner. */
  private due = new Map<string, number>();
  private running = new Set<string>();
  /** Loops kicked during their run, with the shortest delay asked for. */
  private kickedWhileRunning = new Map<string, number>();
  private active = false;

  constructor(private readonly loops: Loop[]) {}

  start(): void {
    this.active = true;
    for (const loop of this.loops) this.schedule(loop, 0);
  }

  stop(): void {
    this.active = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.due.clear();
  }

  /**
   * Runs every loop soon (used by watches: a change is a hint, the loop re-reads everything); with
   * the change, only the loops it concerns.
   */
  kick(change?: CacheChange): void {
    if (!this.active) return;
    for (const loop of this.loops) {
      if (loop.kicked === false) continue;
      const concern = change && loop.kickedBy ? loop.kickedBy(change) : true;
      if (concern !== false) this.kickOne(loop, typeof concern === 'number' ? concern : loop.kickDelayMs ?? KICK_DELAY_MS);
    }
  }

  /** Runs one loop soon (after its kick delay), as a change that concerns it would. */
  kickLoop(name: string): void {
    const loop = this.loops.find((l) => l.name === name);
    if (this.active && loop) this.kickOne(loop, loop.kickDelayMs ?? KICK_DELAY_MS);
  }

  private kickOne(loop: Loop, delayMs: number): void {
    // A change during a run may have come too late for it: run again soon after, not a period later.
    if (this.running.has(loop.name)) this.kickedWhileRunning.set(loop.name, Math.min(delayMs, this.kickedWhileRunning.get(loop.name) ?? Infinity));
    else this.schedule(loop, delayMs);
  }

  private schedule(loop: Loop, delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.timers.has(loop.name) && (this.due.get(loop.name) ?? Infinity) <= at) return;
    clearTimeout(this.timers.get(loop.name));
    this.due.set(loop.name, at);
    this.timers.set(loop.name, setTimeout(() => {
      this.timers.delete(loop.name);
      void this.runOnce(loop);
    }, delayMs));
  }

  private async runOnce(loop: Loop): Promise<void> {
    if (!this.active || this.running.has(loop.name)) return;
    this.running.add(loop.name);
    try {
      await loop.run();
    } catch (error) {
      this.logger.warn(`${loop.name}: ${(error as Error).message}`);
    } finally {
      this.running.delete(loop.name);
      const kicked = this.kickedWhileRunning.get(loop.name);
      this.kickedWhileRunning.delete(loop.name);
      if (this.active) this.schedule(loop, kicked ?? loop.periodMs);
    }
  }
}
