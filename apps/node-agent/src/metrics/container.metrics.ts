/**
 * cAdvisor's container metrics (same names and units) for every running replica of the node, from
 * one usage sample per scrape. Labels: namespace, service, replica, and as cAdvisor/kubelet name
 * them `name` (the container id), `image`, `pod` (= replica) and `container` (= service), so that
 * dashboards written for Kubernetes select Tide's series too; `node` comes from the registry.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { ContainerSample, UsageSampler } from './usage.sampler';

const LABELS = ['namespace', 'service', 'replica', 'name', 'image', 'pod', 'container'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

function labelsOf(r: ContainerSample): Labels {
  return { namespace: r.namespace, service: r.service, replica: r.name, name: r.containerId, image: r.image, pod: r.name, container: r.service };
}

interface Series {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** undefined: no series for this container (cAdvisor leaves out a quota that is not set). */
  value(r: ContainerSample): number | undefined;
}

const SERIES: Series[] = [
  { name: 'container_cpu_usage_seconds_total', type: 'counter', help: 'Cumulative cpu time consumed in seconds.', value: (r) => r.usage.cpuUsageSeconds },
  { name: 'container_memory_working_set_bytes', type: 'gauge', help: 'Current working set in bytes.', value: (r) => r.usage.memoryWorkingSetBytes },
  { name: 'container_memory_usage_bytes', type: 'gauge', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', value: (r) => r.usage.memoryUsageBytes },
  // cAdvisor reports 0 for a container without a memory limit.
  { name: 'container_spec_memory_limit_bytes', type: 'gauge', help: 'Memory limit for the container.', value: (r) => r.usage.memoryLimitBytes ?? 0 },
  { name: 'container_spec_cpu_quota', type: 'gauge', help: 'CPU quota of the container.', value: (r) => r.usage.cpuQuotaMicros },
  { name: 'container_spec_cpu_period', type: 'gauge', help: 'CPU period of the container.', value: (r) => r.usage.cpuPeriodMicros },
  { name: 'container_oom_events_total', type: 'counter', help: 'Count of out of memory events observed for the container.', value: (r) => r.usage.oomEvents },
  { name: 'container_start_time_seconds', type: 'gauge', help: 'Start time of the container since unix epoch in seconds.', value: (r) => r.startedAt.getTime() / 1000 },
];

export function registerContainerMetrics(registry: Registry, sampler: UsageSampler): void {
  for (const series of SERIES) {
    const config = {
      name: series.name, help: series.help, labelNames: LABELS, registers: [registry],
      async collect(this: Counter<(typeof LABELS)[number]> | Gauge<(typeof LABELS)[number]>) {
        const { replicas } = await sampler.sample();
        this.reset();
        for (const replica of replicas) {
          const value = series.value(replica);
          if (value === undefined) continue;
          if (this instanceof Counter) this.inc(labelsOf(replica), value);
          else this.set(labelsOf(replica), value);
        }
      },
    };
    if (series.type === 'counter') new Counter(config);
    else new Gauge(config);
  }
  // Tells a reader how old the container figures of a scrape are (a sample is shared for up to 250 ms).
  new Gauge({
    name: 'tide_container_usage_sampled_at_seconds', help: 'When the container figures of this scrape were read from the cgroups, in seconds since the epoch.',
    registers: [registry],
    async collect() {
      this.set((await sampler.sample()).takenAt / 1000);
    },
  });
}
