/**
 * Runs the probes of every running container of the node: each probe on its own timer (first
 * check `initialDelaySeconds` after the container started, then every `periodSeconds`), its
 * outcomes fed to the pure state machine (probe.state.ts). A container that restarts is a new
 * container: its probes start over. The reconciler asks for the verdict (readiness, kill).
 */
import { ProbeKind, Probes, ResolvedProbe } from '@tide/api';
import { Clock, TimerHandle, systemClock } from '../reconcile/clock';
import { CheckTarget, ProbeCheck } from './probe.check';
import { ProbeThresholds, ProbeVerdict, Trackers, activeKinds, initialTracker, probeVerdict, recordOutcome } from './probe.state';

export interface ProbedContainer extends CheckTarget {
  /** The replica's key. */
  key: string;
  /** When this container started (ms): a restarted container is a new one. */
  startedAt: number;
  probes: Probes<ResolvedProbe>;
}

export interface ProberOptions {
  check: ProbeCheck;
  /** The verdict of a replica's probes changed (readiness, a kill, the message). */
  onChange(key: string): void;
  clock?: Clock;
}

const KINDS: ProbeKind[] = ['startup', 'liveness', 'readiness'];

export class Prober {
  private readonly containers = new Map<string, ContainerProbes>();
  private readonly clock: Clock;

  constructor(private readonly options: ProberOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** The running containers that have probes: new ones start probing, gone or replaced ones stop. */
  sync(running: ProbedContainer[]): void {
    const seen = new Set<string>();
    for (const container of running) {
      if (!KINDS.some((kind) => container.probes[kind])) continue;
      seen.add(container.key);
      const current = this.containers.get(container.key);
      if (current && current.identity === identityOf(container)) {
        current.target.host = container.host;
        continue;
      }
      current?.stop();
      const probes = new ContainerProbes(container, this.options.check, this.clock, () => this.options.onChange(container.key));
      this.containers.set(container.key, probes);
      probes.start();
    }
    for (const [key, probes] of this.containers) {
      if (seen.has(key)) continue;
      probes.stop();
      this.containers.delete(key);
    }
  }

  /**
   * Undefined when the replica's container has no probes (or is not running). With `container`,
   * only the verdict about that very container (id and start time): never a replaced one's.
   */
  verdict(key: string, container?: { containerId: string; startedAt: number }): ProbeVerdict | undefined {
    const probes = this.containers.get(key);
    if (container && probes?.identity !== identityOf(container)) return undefined;
    return probes?.verdict;
  }

  stop(): void {
    for (const probes of this.containers.values()) probes.stop();
    this.containers.clear();
  }
}

function identityOf(container: { containerId: string; startedAt: number }): string {
  return `${container.containerId}@${container.startedAt}`;
}

class ContainerProbes {
  readonly identity: string;
  readonly target: CheckTarget;
  private trackers: Trackers = {};
  private readonly thresholds: Partial<Record<ProbeKind, ProbeThresholds>> = {};
  private readonly timers = new Map<ProbeKind, TimerHandle>();
  private stopped = false;
  verdict: ProbeVerdict;

  constructor(
    private readonly container: ProbedContainer,
    private readonly check: ProbeCheck,
    private readonly clock: Clock,
    private readonly changed: () => void,
  ) {
    this.identity = identityOf(container);
    this.target = { containerId: container.containerId, host: container.host };
    for (const kind of KINDS) {
      const probe = container.probes[kind];
      if (!probe) continue;
      this.trackers[kind] = initialTracker(kind);
      this.thresholds[kind] = { successThreshold: Math.max(1, probe.successThreshold), failureThreshold: Math.max(1, probe.failureThreshold) };
    }
    this.verdict = probeVerdict(this.trackers, this.thresholds);
  }

  start(): void {
    for (const kind of activeKinds(this.trackers)) this.scheduleFirst(kind);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }

  /** The first check waits out initialDelaySeconds, counted from the container's start. */
  private scheduleFirst(kind: ProbeKind): void {
    const probe = this.probe(kind);
    const due = this.container.startedAt + probe.initialDelaySeconds * 1000;
    this.schedule(kind, Math.max(0, due - this.clock.now()));
  }

  private schedule(kind: ProbeKind, delayMs: number): void {
    if (this.stopped) return;
    this.timers.set(kind, this.clock.setTimer(() => void this.run(kind), delayMs));
  }

  private probe(kind: ProbeKind): ResolvedProbe {
    return this.container.probes[kind]!;
  }

  private async run(kind: ProbeKind): Promise<void> {
    const probe = this.probe(kind);
    const began = this.clock.now();
    const outcome = await this.check(this.target, probe);
    if (this.stopped) return;
    const wasStarted = this.verdict.started;
    this.trackers = { ...this.trackers, [kind]: recordOutcome(this.trackers[kind]!, outcome.passed, this.thresholds[kind]!, outcome.message) };
    const verdict = probeVerdict(this.trackers, this.thresholds);
    const changed = JSON.stringify(verdict) !== JSON.stringify(this.verdict);
    this.verdict = verdict;
    if (verdict.kill) {
      // The reconciler restarts the container; the new one gets new probes.
      this.stop();
    } else if (!wasStarted && verdict.started) {
      // The startup probe passed: it never runs again, the other two begin.
      for (const next of activeKinds(this.trackers)) this.scheduleFirst(next);
    } else {
      // Periods count from the start of each check, as Kubernetes' ticker does.
      this.schedule(kind, Math.max(0, began + Math.max(1, probe.periodSeconds) * 1000 - this.clock.now()));
    }
    if (changed) this.changed();
  }
}
