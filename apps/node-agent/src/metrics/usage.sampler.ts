/**
 * One sample of every running container's cgroup usage, taken in one pass and shared: a metrics
 * scrape and the usage report to the control plane (usage.reporter.ts) read the same sample when
 * they come within maxAgeMs of each other, so the cgroup files are read once per second or so,
 * whatever the number of consumers.
 */
import { ContainerRuntime, ContainerUsage } from '@tide/runtime';
import { ReplicaRecord } from '../reconcile/replica.record';
import { ScrapeCache } from './scrape.cache';

export interface ContainerSample {
  namespace: string;
  name: string;
  service: string;
  /** The container id on the node (`<namespace>.<replica>`). */
  containerId: string;
  image: string;
  startedAt: Date;
  usage: ContainerUsage;
}

export interface UsageSnapshot {
  /** ms since the epoch when the sample was taken. */
  takenAt: number;
  replicas: ContainerSample[];
}

export class UsageSampler {
  private readonly cache: ScrapeCache<UsageSnapshot>;

  constructor(
    private readonly runtime: Pick<ContainerRuntime, 'usage'>,
    /** The records, not the reconciler's views: a view works out a phase and probes that a sample does not need. */
    private readonly records: () => Iterable<ReplicaRecord>,
    maxAgeMs = 250,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new ScrapeCache(() => this.read(), maxAgeMs, now);
  }

  sample(): Promise<UsageSnapshot> {
    return this.cache.get();
  }

  /** The next sample() reads every cgroup anew. */
  expire(): void {
    this.cache.expire();
  }

  private async read(): Promise<UsageSnapshot> {
    const takenAt = this.now();
    const running = [...this.records()].filter((r) => r.container && !r.exit);
    const samples = await Promise.all(running.map(async (record): Promise<ContainerSample | undefined> => {
      const container = record.container!;
      const usage = await this.runtime.usage(container.id);
      if (!usage) return undefined; // removed between the listing and the read
      return {
        namespace: record.namespace, name: record.name, service: record.assignment?.service ?? container.spec.labels.service ?? '',
        containerId: container.id, image: container.spec.image, startedAt: container.startedAt, usage,
      };
    }));
    return { takenAt, replicas: samples.filter((s): s is ContainerSample => s !== undefined) };
  }
}
