/**
 * Watches the filesystems of the state dir (nodefs) and the image store (imagefs) every interval
 * (statfs, no process spawned). When a signal crosses its threshold it first frees what the node can
 * spare without touching a running replica (kubelet's order: unused images, then dead containers'
 * leftovers; here unused images and rotated log copies), measures again, and reports the DiskPressure
 * condition that the scheduler honours (no new replicas on the node) while any signal stays crossed.
 */
import * as fs from 'node:fs';
import { DiskReading, DiskThresholds, FsStats, PressureState, signalsUnderPressure } from './disk.pressure';

export interface DiskMonitorOptions {
  stateDir: string;
  imageDir: string;
  thresholds: DiskThresholds;
  intervalMs: number;
  transitionMs: number;
  /** Frees what can go (unused images, rotated logs); answers what it freed, for the log. */
  reclaim: () => Promise<string[]>;
  log: (line: string) => void;
  now?: () => number;
  statfs?: (dir: string) => FsStats;
}

export class DiskMonitor {
  private readonly state: PressureState;
  private timer?: NodeJS.Timeout;
  private checking = false;

  constructor(private readonly options: DiskMonitorOptions) {
    this.state = new PressureState(options.transitionMs);
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The DiskPressure condition now (undefined: none). */
  pressure(): { since: number; message: string } | undefined {
    return this.state.pressure;
  }

  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const before = this.state.pressure;
      let crossed = signalsUnderPressure(this.read(), this.options.thresholds);
      if (crossed.length > 0) {
        const freed = await this.options.reclaim().catch((error: Error) => [`reclaiming failed: ${error.message}`]);
        if (freed.length > 0) this.options.log(`disk pressure (${crossed.join('; ')}): ${freed.join('; ')}`);
        crossed = signalsUnderPressure(this.read(), this.options.thresholds);
      }
      const now = this.options.now?.() ?? Date.now();
      this.state.observe(crossed, now);
      const after = this.state.pressure;
      if ((before === undefined) !== (after === undefined)) {
        this.options.log(after ? `DiskPressure: ${after.message}; the node takes no new replicas` : 'DiskPressure cleared');
      }
    } catch (error) {
      this.options.log(`cannot measure the disks: ${(error as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  private read(): DiskReading {
    const statfs = this.options.statfs ?? statfsOf;
    return { nodefs: statfs(this.options.stateDir), imagefs: statfs(this.options.imageDir) };
  }
}

/** kubelet's order: unused images first, then what dead containers left (here: rotated and previous logs). */
export async function reclaimDisk(images: { collect(): Promise<{ removed: string[]; freedBytes: number } | undefined> }, logs: { dropRotated(): number }): Promise<string[]> {
  const freed: string[] = [];
  const collected = await images.collect();
  if (collected && collected.removed.length > 0) freed.push(`removed ${collected.removed.length} unused image(s), ${collected.freedBytes} bytes`);
  const logBytes = logs.dropRotated();
  if (logBytes > 0) freed.push(`removed rotated logs, ${logBytes} bytes`);
  return freed;
}

function statfsOf(dir: string): FsStats {
  const s = fs.statfsSync(dir);
  return { totalBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize, totalInodes: s.files, freeInodes: s.ffree };
}
