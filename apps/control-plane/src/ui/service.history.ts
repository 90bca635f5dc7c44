/**
 * The last hour of each Service's numbers for the dashboard's chart: desired, live and ready
 * replicas, what the autoscaler measured (CPU utilisation, requests per second per replica, the
 * floor), and from the balancers' reports (UsageCache) the requests per second and the p99 latency
 * of the answers. Kept in memory from the Service changes the cache already hears (the controllers
 * and the autoscaler write status) and a sample of every Service each interval (the traffic changes
 * without the Service changing), at most one point per HISTORY_INTERVAL_MS per service (a later
 * one in the same interval replaces that point): 360 points an hour. Every control plane instance
 * keeps its own, from when it started, of the agents that report to it; nothing is stored in etcd.
 */
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Service } from '@tide/api';
import { CLUSTER, ClusterContext } from '../api/cluster.context';

export interface HistoryPoint {
  /** Milliseconds since the epoch. */
  t: number;
  desired: number;
  replicas: number;
  ready: number;
  cpuPercent?: number;
  rpsPerReplica?: number;
  floor?: number;
  /** Requests per second all nodes' balancers took for the service, over the interval. */
  rps?: number;
  /** The 99th percentile of the answers' latency over the interval, in milliseconds. */
  p99Ms?: number;
}

/** What the balancers said of a service over the last interval (UsageCache). */
export interface TrafficNumbers {
  rps?: number;
  p99Ms?: number;
}

export const HISTORY_RETAIN_MS = 3_600_000;
export const HISTORY_INTERVAL_MS = 10_000;

export function historyPoint(service: Service, t: number, traffic: TrafficNumbers = {}): HistoryPoint {
  const status = service.status;
  const autoscale = status?.autoscale;
  return {
    t, desired: service.spec.replicas, replicas: status?.replicas ?? 0, ready: status?.readyReplicas ?? 0,
    ...(autoscale?.cpuUtilizationPercentage === undefined ? {} : { cpuPercent: autoscale.cpuUtilizationPercentage }),
    ...(autoscale?.requestsPerSecond === undefined ? {} : { rpsPerReplica: autoscale.requestsPerSecond }),
    ...(autoscale ? { floor: autoscale.floor } : {}),
    ...(traffic.rps === undefined ? {} : { rps: traffic.rps }),
    ...(traffic.p99Ms === undefined ? {} : { p99Ms: traffic.p99Ms }),
  };
}

@Injectable()
export class ServiceHistory implements OnModuleInit, OnModuleDestroy {
  private readonly series = new Map<string, HistoryPoint[]>();
  private unsubscribe?: () => void;
  private sampler?: NodeJS.Timeout;
  now: () => number = Date.now;

  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  onModuleInit(): void {
    this.recordAll();
    this.unsubscribe = this.cluster.cache.onChange((change) => {
      if (change.kind === 'resync') return this.recordAll();
      if (change.kind !== 'Service') return;
      if (change.current) this.record(change.current);
      else if (change.previous) this.series.delete(`${change.previous.metadata.namespace}/${change.previous.metadata.name}`);
    });
    this.sampler = setInterval(() => this.recordAll(), HISTORY_INTERVAL_MS);
    this.sampler.unref();
  }

  /** Every Service the cache holds now (at start, and after it relisted): the gone ones forgotten. */
  private recordAll(): void {
    const services = this.cluster.cache.list('Service');
    const present = new Set(services.map((service) => `${service.metadata.namespace}/${service.metadata.name}`));
    for (const key of this.series.keys()) if (!present.has(key)) this.series.delete(key);
    for (const service of services) this.record(service);
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    clearInterval(this.sampler);
  }

  /** The service's points of the last hour, oldest first (empty when it was never seen). */
  points(namespace: string, name: string): HistoryPoint[] {
    const cutoff = this.now() - HISTORY_RETAIN_MS;
    return (this.series.get(`${namespace}/${name}`) ?? []).filter((point) => point.t >= cutoff);
  }

  private traffic(namespace: string, name: string): TrafficNumbers {
    const rps = this.cluster.usage.requestRate(namespace, name, HISTORY_INTERVAL_MS);
    const p99 = this.cluster.usage.latencyQuantile(namespace, name, 0.99, HISTORY_INTERVAL_MS);
    return { ...(rps === undefined ? {} : { rps }), ...(p99 === undefined ? {} : { p99Ms: p99 * 1000 }) };
  }

  private record(service: Service): void {
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    const now = this.now();
    const point = historyPoint(service, now, this.traffic(service.metadata.namespace, service.metadata.name));
    const points = this.series.get(key) ?? [];
    const last = points[points.length - 1];
    // Within the last point's interval the latest numbers replace it (at its time, so that changes
    // more often than the interval still start a new point once the interval is over).
    if (last && now - last.t < HISTORY_INTERVAL_MS) points[points.length - 1] = { ...point, t: last.t };
    else points.push(point);
    const cutoff = now - HISTORY_RETAIN_MS;
    while (points.length > 0 && points[0].t < cutoff) points.shift();
    this.series.set(key, points);
  }
}
