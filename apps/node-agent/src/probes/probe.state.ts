/**
 * The probe state machine of one container, Kubernetes semantics, pure. Each probe keeps its result
 * and the run of identical outcomes behind it: the result turns to success after `successThreshold`
 * passes in a row and to failure after `failureThreshold` failures in a row. A readiness probe starts
 * failed (not ready until it passes), a liveness probe starts passed, a startup probe unknown. While
 * a startup probe has not passed, the other two do not run; once it passed it is never run again.
 */
import { ProbeKind } from '@tide/api';

export type ProbeResult = 'unknown' | 'success' | 'failure';

export interface ProbeThresholds {
  successThreshold: number;
  failureThreshold: number;
}

export interface ProbeTracker {
  result: ProbeResult;
  /** Consecutive outcomes equal to the last one. */
  run: number;
  last?: 'pass' | 'fail';
  /** What the last failed check said (for the replica's message). */
  message?: string;
}

export function initialTracker(kind: ProbeKind): ProbeTracker {
  return { result: kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown', run: 0 };
}

export function recordOutcome(tracker: ProbeTracker, passed: boolean, thresholds: ProbeThresholds, message?: string): ProbeTracker {
  const outcome = passed ? 'pass' : 'fail';
  const run = tracker.last === outcome ? tracker.run + 1 : 1;
  let result = tracker.result;
  if (passed && run >= thresholds.successThreshold) result = 'success';
  if (!passed && run >= thresholds.failureThreshold) result = 'failure';
  return { result, run, last: outcome, ...(passed ? {} : { message }) };
}

/** What the probes of a container say, for the replica's readiness and the reconciler. */
export interface ProbeVerdict {
  /** No startup probe, or it passed: liveness and readiness run. */
  started: boolean;
  /** Started and the readiness probe (if any) passes: the replica receives traffic. */
  ready: boolean;
  /** Set when the container must be restarted: which probe failed and why. */
  kill?: { kind: 'liveness' | 'startup'; message: string };
  /** Why the replica is not ready, for its status. */
  message?: string;
}

export type Trackers = Partial<Record<ProbeKind, ProbeTracker>>;

export function probeVerdict(trackers: Trackers, thresholds: Partial<Record<ProbeKind, ProbeThresholds>>): ProbeVerdict {
  const { startup, liveness, readiness } = trackers;
  const started = !startup || startup.result === 'success';
  if (!started) {
    if (startup.result === 'failure') {
      return { started, ready: false, kill: { kind: 'startup', message: failedMessage('startup', startup, thresholds.startup) }, message: 'startup probe failed' };
    }
    return { started, ready: false, message: 'waiting for the startup probe to pass' };
  }
  if (liveness?.result === 'failure') {
    return { started, ready: false, kill: { kind: 'liveness', message: failedMessage('liveness', liveness, thresholds.liveness) }, message: 'liveness probe failed' };
  }
  if (readiness && readiness.result !== 'success') {
    const message = readiness.message ? `readiness probe failed: ${readiness.message}` : 'waiting for the readiness probe to pass';
    return { started, ready: false, message };
  }
  return { started, ready: true };
}

function failedMessage(kind: ProbeKind, tracker: ProbeTracker, thresholds?: ProbeThresholds): string {
  return `${kind} probe failed ${thresholds?.failureThreshold ?? tracker.run} time(s) in a row: ${tracker.message ?? 'no answer'}`;
}

/** Which probes run now: startup until it passed, then liveness and readiness. */
export function activeKinds(trackers: Trackers): ProbeKind[] {
  if (trackers.startup && trackers.startup.result !== 'success') return ['startup'];
  return (['liveness', 'readiness'] as const).filter((kind) => trackers[kind]);
}
