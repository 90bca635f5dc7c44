/**
 * What Kubernetes' metrics-server would serve the HPA, computed from the agents' cumulative CPU
 * counters: every `resolutionMs` (its `--metric-resolution`, 15 s by default) it scrapes each
 * replica's counter and keeps the last two scrapes; a replica's CPU is the rate between them, so a
 * sample is a ~15 s mean, refreshed every ~15 s, and a new replica has none until its second scrape
 * (or its first, when that comes 10-15 s after its start: metrics-server then counts from the start
 * at zero). This mirrors metrics-server's pod storage (pkg/storage/pod.go).
 *
 * The scrapes fall on multiples of the resolution since the epoch: one clock for every service, as
 * one metrics-server serves a whole cluster; its phase against each HPA's sync is then arbitrary,
 * as it is in a real cluster.
 */

/** A replica's cumulative CPU counter as its agent last sampled it (the kubelet's stats, for metrics-server). */
export interface CpuCounter {
  atMs: number;
  cpuSeconds: number;
  /** When the container started: a counter from a restarted container starts over. */
  startedAtMs: number;
}

/** One replica's CPU as the metrics API gives it: a mean over `windowMs` ending at `atMs`. */
export interface CpuSample {
  atMs: number;
  windowMs: number;
  cores: number;
}

/** metrics-server's freshContainerMinMetricsResolution: a rate from the start needs 10 s of it. */
const FRESH_CONTAINER_MIN_MS = 10_000;

export class MetricsServer {
  private last = new Map<string, CpuCounter>();
  private prev = new Map<string, CpuCounter>();
  private lastTick?: number;

  constructor(private readonly resolutionMs: number) {}

  /**
   * Called on every reading with each replica's latest counter; scrapes them when a resolution
   * boundary has passed since the previous scrape (the first call scrapes at once). True when it did.
   */
  observe(nowMs: number, counters: { name: string; cpuCounter?: CpuCounter }[]): boolean {
    const tick = Math.floor(nowMs / this.resolutionMs);
    if (this.lastTick !== undefined && tick <= this.lastTick) return false;
    this.lastTick = tick;
    this.store(counters);
    return true;
  }

  /** The replica's CPU from the last two scrapes, undefined when it has no rate (yet). */
  sample(name: string): CpuSample | undefined {
    const last = this.last.get(name);
    const prev = this.prev.get(name);
    if (!last || !prev || last.atMs <= prev.atMs) return undefined;
    // metrics-server skips a counter that went down ("unexpected decrease").
    if (last.cpuSeconds < prev.cpuSeconds) return undefined;
    const windowMs = last.atMs - prev.atMs;
    return { atMs: last.atMs, windowMs, cores: (last.cpuSeconds - prev.cpuSeconds) / (windowMs / 1000) };
  }

  /** One scrape: replicas not in it are forgotten, as metrics-server replaces its whole batch. */
  private store(counters: { name: string; cpuCounter?: CpuCounter }[]): void {
    const last = new Map<string, CpuCounter>();
    const prev = new Map<string, CpuCounter>();
    for (const { name, cpuCounter: point } of counters) {
      if (!point) continue;
      last.set(name, point);
      const age = point.atMs - point.startedAtMs;
      const stored = this.last.get(name);
      if (age >= FRESH_CONTAINER_MIN_MS && age < this.resolutionMs) {
        // Started since the previous scrape, long enough ago for a rate: count from the start at zero.
        prev.set(name, { atMs: point.startedAtMs, cpuSeconds: 0, startedAtMs: point.startedAtMs });
      } else if (stored && point.startedAtMs < stored.atMs) {
        // The same container as at the previous scrape (it started before that point was taken).
        if (point.atMs > stored.atMs) prev.set(name, stored);
        else {
          // No newer point from the agent since the last scrape: keep the older pair if it still fits.
          const older = this.prev.get(name);
          if (older && older.atMs < point.atMs) prev.set(name, older);
        }
      }
    }
    this.last = last;
    this.prev = prev;
  }
}
