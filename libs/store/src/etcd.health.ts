/**
 * What the control plane knows of its etcd right now: reachable, with a leader, which alarms are
 * raised. A probe (etcd's Status and Alarm calls, with a short deadline) runs every second; a call
 * of the store that found etcd unreachable marks it so at once. While etcd is unreachable the store
 * refuses calls without sending them (`assertReachable`): a request fails in well under a second
 * instead of waiting for its deadline, and a write refused so was certainly not applied.
 */
import { Etcd3 } from 'etcd3';
import { StoreUnavailableError } from './errors';

export const HEALTH_PROBE_INTERVAL_MS = 1000;
/** A probe not answered in this long finds etcd unreachable. */
export const HEALTH_PROBE_TIMEOUT_MS = 2000;

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

  constructor(private readonly client: Etcd3, private readonly intervalMs = HEALTH_PROBE_INTERVAL_MS, private readonly timeoutMs = HEALTH_PROBE_TIMEOUT_MS) {}

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

  /** A call found etcd unreachable (or without an answer): later calls fail fast until a probe succeeds. */
  noteUnavailable(error: StoreUnavailableError): void {
    this.current = { ...this.current, reachable: false, reason: error.message, checkedAt: Date.now() };
  }

  private async probeOnce(): Promise<EtcdHealthState> {
    const deadline = () => ({ deadline: Date.now() + this.timeoutMs });
    try {
      const status = await this.client.maintenance.status(deadline());
      const alarms = await this.client.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' }, deadline());
      const leader = status.leader !== '0' && status.leader !== '';
      this.current = {
        reachable: true, leader, alarms: (alarms.alarms ?? []).map((a) => String(a.alarm).toUpperCase()),
        reason: leader ? undefined : 'etcd has no leader (lost quorum or an election is under way)',
        dbSize: Number(status.dbSize), dbSizeInUse: Number(status.dbSizeInUse), checkedAt: Date.now(),
      };
    } catch (error) {
      this.current = { ...this.current, reachable: false, reason: `etcd unreachable: ${(error as Error).message}`, checkedAt: Date.now() };
    }
    return this.current;
  }
}
