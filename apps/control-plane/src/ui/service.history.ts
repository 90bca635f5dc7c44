/**
 * The last hour of each Service's numbers for the dashboard's chart: desired, live and ready
 * replicas, and what the autoscaler measured (CPU utilisation, requests per second per replica, the
 * floor). Kept in memory from the Service changes the cache already hears (the controllers and the
 * autoscaler write status), at most one point per `intervalMs` per service (a later change in the
 * same interval replaces that point): 360 points an hour. Every control plane instance keeps its
 * own, from when it started; nothing is stored in etcd.
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
}

export const HISTORY_RETAIN_MS = 3_600_000;
export const HISTORY_INTERVAL_MS = 10_000;

export function historyPoint(service: Service, t: number): HistoryPoint {
  const status = service.status;
  const autoscale = status?.autoscale;
  return {
    t, desired: service.spec.replicas, replicas: status?.replicas ?? 0, ready: status?.readyReplicas ?? 0,
    ...(autoscale?.cpuUtilizationPercentage === undefined ? {} : { cpuPercent: autoscale.cpuUtilizationPercentage }),
    ...(autoscale?.requestsPerSecond === undefined ? {} : { rpsPerReplica: autoscale.requestsPerSecond }),
    ...(autoscale ? { floor: autoscale.floor } : {}),
  };
}

@Injectable()
export class ServiceHistory implements OnModuleInit, OnModuleDestroy {
  private readonly series = new Map<string, HistoryPoint[]>();
  private unsubscribe?: () => void;
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
  }

  /** The service's points of the last hour, oldest first (empty when it was never seen). */
  points(namespace: string, name: string): HistoryPoint[] {
    const cutoff = this.now() - HISTORY_RETAIN_MS;
    return (this.series.get(`${namespace}/${name}`) ?? []).filter((point) => point.t >= cutoff);
  }

  private record(service: Service): void {
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    const now = this.now();
    const point = historyPoint(service, now);
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
