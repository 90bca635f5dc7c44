/**
 * What the control plane knows of its etcd right now: reachable, with a leader, which alarms are
 * raised. A probe (etcd's Status and Alarm calls, with a short deadline) runs every second: a
 * refused connection makes etcd unreachable at once, silence two probes in a row (a paused or hung
 * etcd); a call of the store that found etcd unreachable marks it so at once. While etcd is unreachable the store
 * refuses calls without sending them (`assertReachable`): a request fails in well under a second
 * instead of waiting for its deadline, and a write refused so was certainly not applied.
 */
import { Etcd3, GRPCDeadlineExceededError } from 'etcd3';
import { StoreUnavailableError } from './errors';

export const HEALTH_PROBE_INTERVAL_MS = 1000;
/** A probe not answered in this long counts as silence. */
export const HEALTH_PROBE_TIMEOUT_MS = 2000;
/**
 * Probes in a row without an answer that make etcd unreachable. A refused connection does it at
 * once; silence takes two (3 s or more): one probe that timed out on a machine whose cores are all
 * busy (etcd, or this process, waiting for a core) must not make every call fail for a second.
 */
export const SILENT_PROBES_TO_UNREACHABLE = 2;

export interface EtcdHealthState {
  reachable: boolean;
  /** etcd has an elected leader (a member without one refuses writes and linearizable reads). */
  leader: boolean;
  /** Raised alarms: NOSPACE (out of quota), CORRUPT. */
  alarms: string[];
  /** Why etcd is not usable, for /readyz and 503s; undefined when it is. */
  reason?: string;
  /** Physically allocated and logically used database sizes (bytes), from the last probe. */
  dbSize?: number;
  dbSizeInUse?: number;
  checkedAt: number;
}

export class EtcdHealth {
  private current: EtcdHealthState = { reachable: true, leader: true, alarms: [], checkedAt: 0 };
  private timer?: NodeJS.Timeout;
  private probing?: Promise<EtcdHealthState>;
  /** Probes in a row that got no answer in time (DEADLINE_EXCEEDED) while etcd counted as reachable. */
  private silentProbes = 0;

  /**
   * `members`: one client per member of a cluster of several. Each is probed; etcd counts as
   * reachable while a majority answers (a client call then finds a member that works), and a call
   * that failed makes a probe rather than marking etcd unreachable (it may have hit the one member down).
   */
  constructor(
    private readonly client: Etcd3,
    private readonly intervalMs = HEALTH_PROBE_INTERVAL_MS,
    private readonly timeoutMs = HEALTH_PROBE_TIMEOUT_MS,
    private readonly members: Etcd3[] = [],
  ) {}

  get state(): EtcdHealthState {
    return this.current;
  }

  start(): void {
    const tick = () => void this.probe().finally(() => {
      if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
    });
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Probes now (one probe at a time: concurrent callers share it). */
  probe(): Promise<EtcdHealthState> {
    this.probing ??= this.probeOnce().finally(() => (this.probing = undefined));
    return this.probing;
  }

  /** Throws when the last probe or call found etcd unreachable or leaderless: nothing is sent then. */
  assertReachable(): void {
    const { reachable, leader, reason } = this.current;
    if (!reachable || !leader) throw new StoreUnavailableError(`etcd unavailable: ${reason ?? 'unknown'}; nothing was sent`, 'not-applied');
  }

  /**
   * A call found etcd unreachable: later calls fail fast until a probe succeeds. A call without an
   * answer in time (one slow transaction on a busy etcd), or one to a member of several, only makes
   * a probe: the probe decides.
   */
  noteUnavailable(error: StoreUnavailableError): void {
    if (this.members.length > 1 || error.outcome === 'unknown') return void this.probe();
    this.current = { ...this.current, reachable: false, reason: error.message, checkedAt: Date.now() };
  }

  private async probeOnce(): Promise<EtcdHealthState> {
    const clients = this.members.length > 1 ? this.members : [this.client];
    const answers = await Promise.all(clients.map((client) => this.probeMember(client).catch((error: Error) => error)));
    const answered = answers.filter((a): a is Exclude<typeof a, Error> => !(a instanceof Error));
    const failed = answers.filter((a): a is Error => a instanceof Error);
    if (answered.length * 2 <= clients.length) {
      const silent = failed.every((error) => error instanceof GRPCDeadlineExceededError);
      this.silentProbes = silent ? this.silentProbes + 1 : SILENT_PROBES_TO_UNREACHABLE;
      if (this.current.reachable && this.silentProbes < SILENT_PROBES_TO_UNREACHABLE) return this.current;
      const why = failed.map((e) => e.message).join('; ');
      this.current = { ...this.current, reachable: false, reason: `etcd unreachable${clients.length > 1 ? ` (${failed.length} of ${clients.length} members)` : ''}: ${why}`, checkedAt: Date.now() };
      return this.current;
    }
    this.silentProbes = 0;
    const leader = answered.some((a) => a.leader);
    const first = answered[0];
    this.current = {
      reachable: true, leader, alarms: first.alarms,
      reason: leader ? undefined : 'etcd has no leader (lost quorum or an election is under way)',
      dbSize: Math.max(...answered.map((a) => a.dbSize)), dbSizeInUse: Math.max(...answered.map((a) => a.dbSizeInUse)), checkedAt: Date.now(),
    };
    return this.current;
  }

  private async probeMember(client: Etcd3): Promise<{ leader: boolean; alarms: string[]; dbSize: number; dbSizeInUse: number }> {
    const deadline = () => ({ deadline: Date.now() + this.timeoutMs });
    const status = await client.maintenance.status(deadline());
    const alarms = await client.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' }, deadline());
    return {
      leader: status.leader !== '0' && status.leader !== '', alarms: [...new Set((alarms.alarms ?? []).map((a) => String(a.alarm).toUpperCase()))],
      dbSize: Number(status.dbSize), dbSizeInUse: Number(status.dbSizeInUse),
    };
  }
}
