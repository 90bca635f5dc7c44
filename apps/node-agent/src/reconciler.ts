/**
 * Converges the node's containers to the desired replicas. Level-triggered: every sync compares the
 * complete desired set with what runs and fixes the difference; exits, new assignments and timers
 * only trigger a sync. Containers found at startup (started by an earlier agent) are adopted.
 */
import * as fs from 'node:fs';
import { Assignment__Output } from '@tide/proto';
import { ContainerExitStatus, ContainerRuntime, ContainerSpec, RuntimeError } from '@tide/runtime';
import { backoffDelayMs, exitReason, nextConsecutiveFailures, shouldRestart } from './restart.policy';
import { PersistedRecords, ReplicaRecord, containerId, newRecord } from './replica.record';

export interface ReconcilerOptions {
  runtime: ContainerRuntime;
  /** Where restart counts survive an agent restart. */
  stateFile: string;
  /** Per-replica log files live here, across container restarts. */
  logDir: string;
  onChange: () => void;
  now?: () => number;
}

export class Reconciler {
  readonly records = new Map<string, ReplicaRecord>();
  /** Replicas stopped and removed, to report as gone until the control plane forgets them. */
  readonly gone = new Set<string>();
  private desired = new Map<string, Assignment__Output>();
  /** Until the first desired set arrives nothing is stopped: an unknown set is not an empty one. */
  private haveDesired = false;
  private timer?: NodeJS.Timeout;
  private syncing = false;
  private again = false;
  private readonly now: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Adopts the containers an earlier agent left running. */
  async adopt(): Promise<void> {
    const persisted = this.loadPersisted();
    for (const container of await this.options.runtime.list()) {
      const { namespace, replica } = container.spec.labels;
      if (!namespace || !replica) continue;
      const record = { ...newRecord(namespace, replica), ...(persisted[`${namespace}/${replica}`] ?? {}), container };
      record.phase = container.exit ? 'Starting' : 'Running';
      this.records.set(record.key, record);
      this.watchExit(record);
    }
  }

  setDesired(assignments: Assignment__Output[]): void {
    this.desired = new Map(assignments.map((a) => [`${a.namespace}/${a.name}`, a]));
    this.haveDesired = true;
    for (const key of [...this.gone]) if (this.desired.has(key)) this.gone.delete(key);
    this.kick();
  }

  /** Forget gone replicas the control plane no longer lists (it deleted them). */
  acknowledgeGone(keys: string[]): void {
    for (const key of keys) this.gone.delete(key);
  }

  kick(delayMs = 0): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync(), delayMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async sync(): Promise<void> {
    if (!this.haveDesired) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    try {
      for (const [key, assignment] of this.desired) this.syncDesired(key, assignment);
      for (const record of this.records.values()) if (!this.desired.has(record.key)) this.syncUnwanted(record);
      this.scheduleNextWake();
      this.persist();
    } finally {
      this.syncing = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    }
  }

  private syncDesired(key: string, assignment: Assignment__Output): void {
    let record = this.records.get(key);
    if (!record) {
      record = newRecord(assignment.namespace, assignment.name);
      this.records.set(key, record);
    }
    record.assignment = assignment;
    if (record.busy) return;
    if (record.container?.exit) return void this.onExit(record, record.container.exit);
    if (record.container) return;
    if (record.phase === 'Succeeded' || (record.phase === 'Failed' && record.nextStartAt === Infinity)) return;
    if (this.now() >= record.nextStartAt) void this.start(record, assignment);
  }

  private syncUnwanted(record: ReplicaRecord): void {
    if (record.busy) return;
    record.busy = true;
    record.phase = 'Terminating';
    void this.removeReplica(record).finally(() => {
      record.busy = false;
      this.kick();
    });
  }

  private async removeReplica(record: ReplicaRecord): Promise<void> {
    const id = containerId(record.namespace, record.name);
    // An adopted container that is no longer desired has no assignment: its grace period was kept in its labels.
    const grace = Number(record.assignment?.container?.terminationGracePeriodSeconds ?? record.container?.spec.labels.terminationGracePeriodSeconds ?? 30);
    if (record.container && !record.container.exit) await this.options.runtime.stop(id, grace);
    if (record.container) await this.options.runtime.remove(id);
    fs.rmSync(this.logPath(record.namespace, record.name), { force: true });
    this.records.delete(record.key);
    this.gone.add(record.key);
    this.options.onChange();
  }

  private async start(record: ReplicaRecord, assignment: Assignment__Output): Promise<void> {
    record.busy = true;
    record.phase = 'Starting';
    this.options.onChange();
    try {
      record.container = await this.options.runtime.start({ ...containerSpec(assignment), logPath: this.logPath(record.namespace, record.name) });
      record.phase = 'Running';
      record.message = undefined;
      this.watchExit(record);
    } catch (error) {
      const reason = error instanceof RuntimeError ? error.code : 'StartFailed';
      record.consecutiveFailures += 1;
      const delay = backoffDelayMs(record.consecutiveFailures);
      record.nextStartAt = this.now() + delay;
      record.phase = 'Failed';
      record.message = `${reason}: ${(error as Error).message} (retrying in ${Math.round(delay / 1000)} s)`;
    } finally {
      record.busy = false;
      this.options.onChange();
      this.kick();
    }
  }

  private watchExit(record: ReplicaRecord): void {
    const container = record.container!;
    void this.options.runtime.wait(container.id).then((exit) => this.onExit(record, exit));
  }

  private async onExit(record: ReplicaRecord, exit: ContainerExitStatus): Promise<void> {
    if (this.records.get(record.key) !== record || !this.desired.has(record.key) || record.busy) return;
    const ranForMs = exit.finishedAt.getTime() - (record.container?.startedAt.getTime() ?? exit.finishedAt.getTime());
    record.lastExit = { code: exit.code, signal: exit.signal, reason: exitReason(exit), finishedAt: exit.finishedAt.toISOString() };
    record.busy = true;
    await this.options.runtime.remove(record.container!.id).catch(() => undefined);
    record.container = undefined;
    record.busy = false;
    const policy = (record.assignment?.container?.restartPolicy || 'Always') as 'Always' | 'OnFailure' | 'Never';
    if (shouldRestart(policy, exit)) {
      record.consecutiveFailures = nextConsecutiveFailures(record.consecutiveFailures, ranForMs);
      record.restartCount += 1;
      record.nextStartAt = this.now() + backoffDelayMs(record.consecutiveFailures);
      record.phase = 'Starting';
      record.message = `back-off ${backoffDelayMs(record.consecutiveFailures) / 1000} s restarting the exited container`;
    } else {
      record.nextStartAt = Infinity;
      record.phase = exit.code === 0 && !exit.oomKilled ? 'Succeeded' : 'Failed';
    }
    this.options.onChange();
    this.kick();
  }

  private scheduleNextWake(): void {
    const waits = [...this.records.values()]
      .filter((r) => !r.container && !r.busy && Number.isFinite(r.nextStartAt) && r.nextStartAt > this.now())
      .map((r) => r.nextStartAt - this.now());
    if (waits.length) this.kick(Math.min(...waits));
  }

  logPath(namespace: string, name: string): string {
    return `${this.options.logDir}/${containerId(namespace, name)}.log`;
  }

  private loadPersisted(): PersistedRecords {
    try {
      return JSON.parse(fs.readFileSync(this.options.stateFile, 'utf8')) as PersistedRecords;
    } catch {
      return {};
    }
  }

  private persist(): void {
    const out: PersistedRecords = {};
    for (const r of this.records.values()) out[r.key] = { restartCount: r.restartCount, consecutiveFailures: r.consecutiveFailures, lastExit: r.lastExit };
    fs.writeFileSync(`${this.options.stateFile}.tmp`, JSON.stringify(out));
    fs.renameSync(`${this.options.stateFile}.tmp`, this.options.stateFile);
  }
}

export function containerSpec(a: Assignment__Output): ContainerSpec {
  const c = a.container!;
  const positive = (n: number) => (n > 0 ? n : undefined);
  return {
    id: containerId(a.namespace, a.name),
    hostname: a.name,
    image: c.image,
    argv: [...c.command, ...c.args],
    env: c.env,
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    limits: {
      cpuMillis: positive(c.cpuLimitMillis), cpuRequestMillis: positive(c.cpuRequestMillis),
      memoryBytes: positive(c.memoryLimitBytes), pids: positive(c.pidsLimit),
    },
    labels: {
      namespace: a.namespace, replica: a.name, service: a.service, templateHash: a.templateHash,
      terminationGracePeriodSeconds: String(c.terminationGracePeriodSeconds),
    },
  };
}
