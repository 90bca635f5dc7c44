/**
 * Runs the controllers while this control plane is the leader. Each loop is level-triggered: it
 * re-reads etcd every period (and sooner when a watch says something changed), so a new leader
 * simply starts converging from what is stored.
 */
import { Logger } from '@nestjs/common';

export interface Loop {
  name: string;
  periodMs: number;
  run(): Promise<void>;
  /** false: only the period runs it (a loop whose input is not etcd, such as the autoscaler's). */
  kicked?: boolean;
}

export class LeaderRunner {
  private readonly logger = new Logger('LeaderRunner');
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Set<string>();
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
  }

  /** Runs every loop soon (used by watches: a change is a hint, the loop re-reads everything). */
  kick(): void {
    if (!this.active) return;
    for (const loop of this.loops) if (loop.kicked !== false && !this.running.has(loop.name)) this.schedule(loop, 20);
  }

  private schedule(loop: Loop, delayMs: number): void {
    clearTimeout(this.timers.get(loop.name));
    this.timers.set(loop.name, setTimeout(() => void this.runOnce(loop), delayMs));
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
      if (this.active) this.schedule(loop, loop.periodMs);
    }
  }
}
