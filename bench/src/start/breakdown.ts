/**
 * `--breakdown`: where a start's time goes. Traced starts (LinuxRuntime's onStartTrace) carry the
 * marks of the runtime and the init on one monotonic clock; each mark becomes
 * milliseconds after start() was called, and each step's median over the starts is printed in the
 * order the steps happen. A warm init's boot marks predate its start and are left out.
 */
import { StartTraceRecord } from '@tide/runtime';
import { percentile, round1 } from './stats';

export type Breakdown = Record<string, number>;

export function medianSteps(records: StartTraceRecord[]): Breakdown {
  const byStep = new Map<string, number[]>();
  for (const record of records) {
    const t0 = record.marks.find((m) => m.step === 'runtime: start() called')?.at;
    if (t0 === undefined) continue;
    for (const mark of record.marks) {
      if (mark.at < t0) continue;
      byStep.set(mark.step, [...(byStep.get(mark.step) ?? []), mark.at - t0]);
    }
  }
  const steps = [...byStep].filter(([, times]) => times.length * 2 >= records.length);
  const medians = steps.map(([step, times]) => [step, round1(percentile(times, 50))] as const);
  return Object.fromEntries(medians.sort((a, b) => a[1] - b[1]));
}

export function printBreakdown(title: string, breakdown: Breakdown, starts: number): void {
  console.log(`\n${title}: median ms after start() was called, ${starts} starts`);
  console.log('| step | ms |\n|---|---|');
  for (const [step, ms] of Object.entries(breakdown)) console.log(`| ${step} | ${ms.toFixed(1)} |`);
}
