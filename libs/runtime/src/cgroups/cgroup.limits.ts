/** CPU limit arithmetic shared by cgroup v1 and v2 (the conversions runc and Kubernetes use). */
import { ContainerUsage } from '../runtime.types';

/** CPU shares (v1) from a request in millicores: 1024 per core, at least 2. */
export function cpuShares(requestMillis: number): number {
  return Math.max(2, Math.round((requestMillis * 1024) / 1000));
}

/** CPU weight (v2, 1..10000) from v1 shares, the conversion runc and Kubernetes use. */
export function cpuWeight(shares: number): number {
  return Math.min(10000, Math.max(1, Math.round(1 + ((shares - 2) * 9999) / 262142)));
}

export const CFS_PERIOD_US = 100_000;

/** CFS quota for a limit in millicores: 500m → 50000 of every 100000 µs. */
export function cfsQuota(limitMillis: number): number {
  return Math.max(1000, Math.round((limitMillis * CFS_PERIOD_US) / 1000));
}

/** The limits a usage sample carries (they are set when the group is made and never change). */
export function limitsOf(usage: ContainerUsage): Pick<ContainerUsage, 'memoryLimitBytes' | 'cpuQuotaMicros' | 'cpuPeriodMicros'> {
  const { memoryLimitBytes, cpuQuotaMicros, cpuPeriodMicros } = usage;
  return {
    ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
    ...(cpuQuotaMicros !== undefined ? { cpuQuotaMicros, cpuPeriodMicros } : {}),
  };
}
