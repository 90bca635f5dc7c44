/**
 * Converges the node's containers to the replicas desired on it, in the shape of a Kubernetes
 * controller: events (a new desired set, a container exit, a backoff timer) only enqueue a replica
 * key; one sync per key at a time re-reads what is known and takes the next step
 * (`nextReplicaAction`); failures requeue with backoff. Containers left by an earlier agent process
 * are adopted, never started twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigReferenceError, ReplicaAssignment, ReplicaPhase } from '@tide/api';
import { ContainerExitStatus, ContainerInfo, ContainerRuntime, ContainerSpec, RuntimeError } from '@tide/runtime';
import { backoffDelayMs, nextConsecutiveFailures } from './backoff.policy';
import { Clock, systemClock } from './clock';
import { LABEL, buildContainerSpec, containerId, gracePeriodFromLabels, gracePeriodSeconds, replicaKey } from './container-spec.builder';
import { diffDesired } from './desired.diff';
import { nextReplicaAction } from './replica.action';
import { PersistedRecord, ReplicaRecord, newRecord } from './replica.record';
import { deriveReplicaPhase, isReady } from './replica.phase';
import { pauseMessage, setPaused } from './replica.pause';
import { ReplicaStateStore, noReplicaState } from './replica.state-file';
import { exitReason, exitSucceeded, shouldRestart } from './restart.policy';
import { WorkQueue } from './work.queue';
import { EPHEMERAL_STORAGE_EXCEEDED, EVICTED } from '../disk/ephemeral.storage';
import type { ConfigVolumes } from '../volumes/config.volumes';

/** What the probes of a replica's running container say (see probes/probe.state.ts). */
export interface ProbeVerdictView {
  ready: boolean;
  kill?: { kind: string; message: string };
  message?: string;
}

/** The replicas' log files beyond the one a container writes (logs/log.rotator.ts). */
export interface ReplicaLogs {
  /** A new container of the replica is about to start: the last one's output becomes the previous instance's. */
  retire(id: string): void;
  /** The replica is gone from the node: every file of it goes. */
  forget(id: string): void;
}

export interface ReconcilerOptions {
  runtime: ContainerRuntime;
  /** Per-replica log files, kept across container restarts and removed with the replica. */
  logDir: string;
  /** Without it, one file per replica, written on by each of its containers. */
  logs?: ReplicaLogs;
  state?: ReplicaStateStore;
  clock?: Clock;
  /** Containers started at once (different replicas); one replica is never synced twice at once. */
  concurrency?: number;
  /** Something a status report shows changed. */
  onChange?: () => void;
  /** A container is going to be restarted (for the restarts metric). */
  onRestart?: (record: ReplicaRecord) => void;
  /**
   * The verdict of the probes of a replica's current container (the callee checks it is that very
   * container, not one that was replaced); undefined: no probes (ready once running).
   */
  probes?: (record: ReplicaRecord) => ProbeVerdictView | undefined;
  /**
   * How long a replica that is no longer desired keeps running when it has ports (published or on its
   * service's IP), so that every
   * node's load balancer drops it (endpoints reach every node within a second) before SIGTERM.
   * Never more than its grace period. Default 1000 ms.
   */
  endpointPropagationMs?: number;
  /** The replicas' ConfigMaps and Secrets (variables, volumes); without it a template's references stay unresolved. */
  configs?: Pick<ConfigVolumes, 'prepare' | 'release'>;
  /** A bridge container's resolver settings (the node's DNS), by its namespace; undefined: the host's. */
  dns?: (namespace: string) => ContainerSpec['dns'];
  log?: (line: string) => void;
}

export interface ReplicaView {
  record: ReplicaRecord;
  phase: ReplicaPhase;
  ready: boolean;
  /** Why a running replica is not ready (its probes), when they say. */
  message?: string;
}

/**
 * Kill verdicts that are evictions rather than failed probes (disk/ephemeral.storage.ts): their kind
 * is the exit's reason. EVICTED ends the replica on this node; EphemeralStorageExceeded restarts it
 * on a fresh layer as the restartPolicy says.
 */
const EVICTION_KINDS = new Set([EPHEMERAL_STORAGE_EXCEEDED, EVICTED]);

/** A sync that throws is retried 0.5 s, 1 s, 2 s ... 30 s, at most 10 times, then waits for the next trigger. */
const SYNC_RETRY = { initialMs: 500, maxMs: 30_000 };
const SYNC_MAX_RETRIES = 10;
/**
 * The state file (every replica's restart count) is written at most once per this many ms: a burst
 * of 1,000 starts makes thousands of changes, and a write of every record per change made the
 * burst's cost grow with the square of its size. An agent killed in between loses at most this
 * much of its restart counts' history.
 */
const SAVE_COALESCE_MS = 100;

export class Reconciler {
  readonly records = new Map<string, ReplicaRecord>();
  /** Replicas stopped and forgotten, reported as gone until a report carrying them is acknowledged. */
  private readonly gone = new Set<string>();
  /** Undefined until the control plane sent a set: an unknown set is not an empty one. */
  private desired?: Map<string, ReplicaAssignment>;
  /** Cut off (isolate): stops are immediate until the next desired set. */
  private isolated = false;
  private readonly persisted: Map<string, PersistedRecord>;
  private readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly state: ReplicaStateStore;
  private saveTimer?: NodeJS.Timeout;

  constructor(private readonly options: ReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    this.state = options.state ?? noReplicaState;
    this.persisted = this.state.load();
    this.queue = new WorkQueue((key) => this.sync(key), {
      concurrency: options.concurrency ?? 16, retryBackoff: SYNC_RETRY, maxRetries: SYNC_MAX_RETRIES, clock: this.clock,
      onError: (key, error, willRetry) => this.log(`sync ${key} failed: ${(error as Error).message}${willRetry ? '; retrying' : '; giving up until the next change'}`),
    });
  }

  /** Takes over the containers an earlier agent left (alive or exited); returns how many. */
  async adopt(): Promise<number> {
    let adopted = 0;
    for (const container of await this.options.runtime.list()) {
      const namespace = container.spec.labels[LABEL.namespace];
      const name = container.spec.labels[LABEL.replica];
      if (!namespace || !name) continue;
      const record = this.recordFor(namespace, name);
      record.container = container;
      record.exit = container.exit;
      if (!container.exit) this.watchExit(record, container);
      adopted++;
    }
    if (adopted > 0) this.log(`adopted ${adopted} container(s) left by an earlier agent`);
    return adopted;
  }

  /** The complete desired set for this node (every message of the stream is one). */
  setDesired(assignments: ReplicaAssignment[]): void {
    this.isolated = false;
    this.applyDesired(assignments);
  }

  /**
   * The node is cut off from the cluster (control-plane/isolation.fence.ts): every container is
   * killed at once, without its grace period or the endpoints' drain (no balancer reaches it any
   * more, and its replacement may start elsewhere within seconds), and none runs again until a
   * control plane sends a desired set.
   */
  isolate(): void {
    this.isolated = true;
    this.applyDesired([]);
  }

  private applyDesired(assignments: ReplicaAssignment[]): void {
    const previous = this.desired;
    this.desired = new Map(assignments.map((a) => [replicaKey(a.namespace, a.name), a]));
    const diff = diffDesired(this.desired.keys(), previous ? previous.keys() : this.adoptedKeys());
    if (!previous || diff.toStart.length || diff.toStop.length) {
      this.log(`desired ${this.desired.size} replica(s): ${diff.toStart.length} new, ${diff.toStop.length} no longer desired, ${diff.kept.length} unchanged`);
    }
    for (const [key, assignment] of this.desired) {
      this.gone.delete(key);
      const record = this.recordFor(assignment.namespace, assignment.name);
      record.assignment = assignment;
      record.undesiredSince = undefined;
      record.pauseAskedAt = assignment.paused ? record.pauseAskedAt ?? this.clock.now() : undefined;
    }
    for (const record of this.records.values()) {
      if (!this.desired.has(record.key) && record.container && record.undesiredSince === undefined) record.undesiredSince = this.clock.now();
    }
    for (const key of new Set([...this.desired.keys(), ...this.records.keys()])) this.queue.add(key);
    this.options.onChange?.();
  }

  private adoptedKeys(): string[] {
    return [...this.records.values()].filter((r) => r.container).map((r) => r.key);
  }

  views(): ReplicaView[] {
    return [...this.records.values()].map((record) => {
      const running = record.container !== undefined && record.exit === undefined;
      const phase = deriveReplicaPhase({
        desired: this.desired ? this.desired.has(record.key) : true,
        operation: record.operation,
        running,
        paused: record.container?.paused === true,
        finished: record.finished,
        startFailed: record.startFailed,
      });
      const probes = running ? this.options.probes?.(record) : undefined;
      const pausing = this.desired?.get(record.key)?.paused === true;
      const message = pauseMessage(phase, pausing) ?? (phase === 'Running' ? probes?.message : undefined);
      return { record, phase, ready: isReady(phase, probes, pausing), ...(message ? { message } : {}) };
    });
  }

  /** A replica's probe verdict changed: its readiness is reported, a failed liveness acted on. */
  probesChanged(key: string): void {
    this.queue.add(key);
    this.options.onChange?.();
  }

  goneKeys(): string[] {
    return [...this.gone];
  }

  /** The control plane received these gone keys: stop reporting them. */
  acknowledgeGone(keys: string[]): void {
    for (const key of keys) this.gone.delete(key);
  }

  logPath(namespace: string, name: string): string {
    return path.join(this.options.logDir, `${containerId(namespace, name)}.log`);
  }

  /** Resolves when no sync is queued or running (syncs waiting for a backoff do not count). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.shutdown();
    if (this.saveTimer) this.save();
  }

  private async sync(key: string): Promise<void> {
    if (!this.desired) return;
    const record = this.records.get(key);
    if (!record) return;
    const desired = this.desired.get(key);
    const action = nextReplicaAction(desired, {
      hasContainer: record.container !== undefined,
      exited: record.exit !== undefined,
      containerTemplateHash: record.container?.spec.labels[LABEL.templateHash],
      finished: record.finished !== undefined,
      nextStartAt: record.nextStartAt,
      unhealthy: record.exit === undefined && this.options.probes?.(record)?.kill !== undefined,
      drainUntil: record.undesiredSince === undefined ? undefined : record.undesiredSince + this.drainDelayMs(record),
      paused: record.container?.paused === true,
      pauseAt: record.pauseAskedAt === undefined ? undefined : record.pauseAskedAt + this.drainDelayMs(record),
    }, this.clock.now());
    switch (action.type) {
      case 'none':
        return;
      case 'wait':
        return this.queue.addAfter(key, action.untilMs - this.clock.now());
      case 'start':
        await this.startContainer(record, desired!);
        break;
      case 'record-exit':
        await this.recordExit(record);
        break;
      case 'kill':
        await this.killUnhealthy(record);
        break;
      case 'stop':
        await this.stopContainer(record);
        if (action.forget) this.forget(record);
        break;
      case 'forget':
        this.forget(record);
        break;
      case 'pause':
      case 'unpause':
        await setPaused(this.options.runtime, record, action.type === 'pause');
        this.log(`${record.key}: ${action.type === 'pause' ? 'paused (its processes are frozen)' : 'unpaused'}`);
        break;
    }
    this.changed();
    // Level-triggered: look at the key again until there is nothing left to do.
    this.queue.add(key);
  }

  private async startContainer(record: ReplicaRecord, assignment: ReplicaAssignment): Promise<void> {
    record.operation = 'starting';
    this.changed();
    try {
      fs.mkdirSync(this.options.logDir, { recursive: true, mode: 0o700 });
      this.options.logs?.retire(containerId(record.namespace, record.name));
      const id = containerId(record.namespace, record.name);
      const config = this.options.configs?.prepare(id, assignment);
      const spec = buildContainerSpec(assignment, this.logPath(record.namespace, record.name), config);
      const dns = spec.network === 'bridge' ? this.options.dns?.(record.namespace) : undefined;
      const container = await this.options.runtime.start(dns ? { ...spec, dns } : spec);
      record.container = container;
      record.exit = container.exit;
      record.startFailed = false;
      record.message = undefined;
      this.watchExit(record, container);
    } catch (error) {
      this.recordStartFailure(record, error);
    } finally {
      record.operation = undefined;
    }
  }

  /** A start that failed (the image is missing, the command cannot run): Failed, retried after a backoff. */
  private recordStartFailure(record: ReplicaRecord, error: unknown): void {
    const reason = error instanceof RuntimeError || error instanceof ConfigReferenceError ? error.code : 'StartFailed';
    const message = (error as Error).message;
    record.consecutiveFailures += 1;
    const delayMs = backoffDelayMs(record.consecutiveFailures);
    record.nextStartAt = this.clock.now() + delayMs;
    record.startFailed = true;
    record.lastExit = { code: null, signal: null, reason, finishedAt: new Date(this.clock.now()).toISOString() };
    record.message = `${reason}: ${message} (retrying in ${delayMs / 1000} s)`;
    this.log(`${record.key}: start failed: ${record.message}`);
  }

  private watchExit(record: ReplicaRecord, container: ContainerInfo): void {
    // Through a promise: a runtime may throw synchronously (NotFound) rather than reject.
    Promise.resolve().then(() => this.options.runtime.wait(container.id)).then((exit) => {
      // Only the exit of the record's current container counts (not one replaced meanwhile).
      if (this.records.get(record.key) !== record || record.container !== container) return;
      record.exit = exit;
      this.changed();
      this.queue.add(record.key);
    }, (error: Error) => this.log(`${record.key}: cannot wait for the container: ${error.message}`));
  }

  /** Records the exit, removes the exited container, and decides: restart after a backoff, or stay down. */
  private async recordExit(record: ReplicaRecord): Promise<void> {
    const container = record.container!;
    const exit = record.exit!;
    await this.options.runtime.remove(container.id);
    record.container = undefined;
    record.exit = undefined;
    const unhealthy = record.unhealthy;
    const killReason = record.killReason;
    record.unhealthy = undefined;
    record.killReason = undefined;
    // Killed for a failed probe (or evicted): the reason says so, and it counts as a failure whatever the exit code.
    const reason = unhealthy ? killReason ?? 'Unhealthy' : exitReason(exit);
    record.lastExit = { code: exit.code, signal: exit.signal, reason, finishedAt: exit.finishedAt.toISOString() };
    // An adopted container no longer desired: its policy is unknown, the default is Always.
    const policy = record.assignment?.template.restartPolicy ?? 'Always';
    if (killReason === EVICTED) {
      record.finished = 'failed';
      record.message = unhealthy;
      this.log(`${record.key}: ${record.message}; not restarted on this node`);
      return;
    }
    if (unhealthy ? policy === 'Never' : !shouldRestart(policy, exit)) {
      record.finished = exitSucceeded(exit) ? 'succeeded' : 'failed';
      record.message = `container exited (${describeExit(exit)}, ${reason}); restartPolicy ${policy}: not restarted`;
      this.log(`${record.key}: ${record.message}`);
      return;
    }
    record.consecutiveFailures = nextConsecutiveFailures(record.consecutiveFailures, ranForMs(container, exit));
    record.restartCount += 1;
    const delayMs = backoffDelayMs(record.consecutiveFailures);
    record.nextStartAt = this.clock.now() + delayMs;
    const why = unhealthy ? `${unhealthy}; container killed (${describeExit(exit)})` : `container exited (${describeExit(exit)}, ${reason})`;
    record.message = `${why}; back-off ${delayMs / 1000} s before restart ${record.restartCount}`;
    this.log(`${record.key}: ${record.message}`);
    this.options.onRestart?.(record);
  }

  /**
   * A failed liveness (or startup) probe: stops the container with its grace period and keeps it as
   * exited, so that the ordinary exit path records it and restarts it after the backoff.
   */
  private async killUnhealthy(record: ReplicaRecord): Promise<void> {
    const kill = this.options.probes?.(record)?.kill;
    if (!kill || !record.container) return;
    record.unhealthy = kill.message;
    record.killReason = EVICTION_KINDS.has(kill.kind) ? kill.kind : 'Unhealthy';
    this.log(`${record.key}: ${kill.message}: restarting the container`);
    const grace = record.assignment ? gracePeriodSeconds(record.assignment) : gracePeriodFromLabels(record.container.spec.labels);
    record.exit = await this.options.runtime.stop(record.container.id, grace);
  }

  /** Published ports: the container keeps serving while every balancer drops it (at most its grace period);
   *  also before it is paused. */
  private drainDelayMs(record: ReplicaRecord): number {
    if (this.isolated || !record.assignment?.template.ports.length) return 0;
    return Math.min(this.options.endpointPropagationMs ?? 1000, gracePeriodSeconds(record.assignment!) * 1000);
  }

  /** Stops with the replica's grace period (an adopted container's is in its labels; none when cut off) and removes it. */
  private async stopContainer(record: ReplicaRecord): Promise<void> {
    const container = record.container!;
    const grace = this.isolated ? 0 : record.assignment ? gracePeriodSeconds(record.assignment) : gracePeriodFromLabels(container.spec.labels);
    record.operation = 'stopping';
    this.changed();
    try {
      if (!record.exit) record.exit = await this.options.runtime.stop(container.id, grace);
      await this.options.runtime.remove(container.id);
      record.container = undefined;
      record.exit = undefined;
      this.log(`${record.key}: stopped and removed`);
    } finally {
      record.operation = undefined;
    }
  }

  /** The replica is no longer desired and has no container: drop it, its logs, and report it gone. */
  private forget(record: ReplicaRecord): void {
    this.records.delete(record.key);
    this.options.configs?.release(containerId(record.namespace, record.name));
    if (this.options.logs) this.options.logs.forget(containerId(record.namespace, record.name));
    else fs.rmSync(this.logPath(record.namespace, record.name), { force: true });
    this.gone.add(record.key);
  }

  private recordFor(namespace: string, name: string): ReplicaRecord {
    const key = replicaKey(namespace, name);
    let record = this.records.get(key);
    if (!record) {
      record = newRecord(namespace, name, this.persisted.get(key));
      this.persisted.delete(key);
      this.records.set(key, record);
    }
    return record;
  }

  private changed(): void {
    // Before the first desired set, records not yet re-created from the file would be lost by a save.
    if (this.desired && !this.saveTimer) this.saveTimer = setTimeout(() => this.save(), SAVE_COALESCE_MS);
    this.options.onChange?.();
  }

  private save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    try {
      this.state.save(this.records.values());
    } catch (error) {
      this.log(`cannot save replica state: ${(error as Error).message}`);
    }
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

function ranForMs(container: ContainerInfo, exit: ContainerExitStatus): number {
  return exit.finishedAt.getTime() - container.startedAt.getTime();
}

function describeExit(exit: ContainerExitStatus): string {
  if (exit.code !== null) return `code ${exit.code}`;
  return exit.signal ?? 'unknown status';
}
