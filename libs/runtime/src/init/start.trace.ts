/**
 * Timestamps of one start's steps, for the start benchmark's breakdown (`--breakdown`). A start runs
 * in two places: the runtime's thread and the init process. Both read the
 * same system-wide monotonic clock (process.hrtime is CLOCK_MONOTONIC), so their marks line up
 * without any exchange of clocks. Recording a mark is one clock read; the marks only travel back to
 * the runtime when the start asked for them. Imports nothing: the init loads it before anything else.
 */

export interface StartMark {
  step: string;
  /** Milliseconds on the monotonic clock. */
  at: number;
}

/** What a runtime hands its `onStartTrace` listener once a traced start has succeeded. */
export interface StartTraceRecord {
  id: string;
  /** True when the init came from the warm pool. */
  warm: boolean;
  /** Every mark of the start, the runtime's and the init's, in no particular order. */
  marks: StartMark[];
}

export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export class StartTrace {
  readonly marks: StartMark[] = [];

  mark(step: string, at = monotonicMs()): void {
    this.marks.push({ step, at });
  }

  add(marks: readonly StartMark[] | undefined): void {
    if (marks) this.marks.push(...marks);
  }
}
