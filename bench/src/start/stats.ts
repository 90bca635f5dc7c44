/** Percentiles and ratios as the benchmarks report them: one decimal for times, two for ratios. */

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round1 = (value: number): number => Math.round(value * 10) / 10;
export const round2 = (value: number): number => Math.round(value * 100) / 100;

export const p50 = (values: number[]): number => round1(percentile(values, 50));
export const p99 = (values: number[]): number => round1(percentile(values, 99));

/** Ratio of the medians. */
export const ratioP50 = (a: number[], b: number[]): number => round2(percentile(a, 50) / percentile(b, 50));

export const mean = (values: number[]): number => round1(values.reduce((sum, v) => sum + v, 0) / values.length);
