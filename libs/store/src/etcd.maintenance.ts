/**
 * Keeps etcd's database from filling up, and brings it back when it did. etcd compacts its history
 * itself (the supervised one runs with --auto-compaction-*), but compaction only frees pages inside
 * the file: defragmentation gives them back, and a member whose file reached --quota-backend-bytes
 * raises the NOSPACE alarm and refuses every write (deletes still pass) until the alarm is disarmed.
 * Every control plane runs `pass()` every few seconds (the leader's also defragments):
 * - NOSPACE raised: compact to the current revision, defragment, and disarm once the file is back
 *   under RECOVERED_QUOTA_RATIO of the quota (otherwise the next write would raise it again at once;
 *   the operator or the deletes then have to free space first, and the next pass tries again).
 * - otherwise, every `defragEveryMs`: defragment when a large share of the file is free.
 */
import { Etcd3 } from 'etcd3';
import { EtcdHealth } from './etcd.health';
import { describeBytes } from './txn.budget';

/** etcd's default --quota-backend-bytes. */
export const ETCD_DEFAULT_QUOTA_BYTES = 2 * 2 ** 30;
/** The NOSPACE alarm is disarmed only once the file is under this share of the quota. */
export const RECOVERED_QUOTA_RATIO = 0.8;
/** Defragmentation blocks a member's reads and writes for its duration: allow it time. */
const DEFRAG_DEADLINE_MS = 60_000;

export interface EtcdMaintenanceOptions {
  /** etcd's --quota-backend-bytes (default etcd's, 2 GiB). */
  quotaBytes?: number;
  /** How often a pass considers defragmenting (default 10 minutes). */
  defragEveryMs?: number;
  /** Defragment when at least this share of the file is free (default 0.5)... */
  defragFreeRatio?: number;
  /** ...and at least this many bytes (default 32 MiB). */
  defragFreeBytes?: number;
  /** The share of the quota the database must be under after recovery to disarm NOSPACE (default RECOVERED_QUOTA_RATIO). */
  recoveredRatio?: number;
  log?: (line: string) => void;
  /**
   * One client per member, for defragmentation (a member's own operation; compaction and alarms are
   * the cluster's). Without them, the member the main client reaches is defragmented.
   */
  members?: Etcd3[];
}

export class EtcdMaintenance {
  private lastDefragCheck = Date.now();
  /** The revision at which the last recovery found the file still over the recovery ratio. */
  private stillFullAt?: string;

  constructor(private readonly client: Etcd3, private readonly health: EtcdHealth, private readonly options: EtcdMaintenanceOptions = {}) {}

  /**
   * One pass; answers what it did ("" when nothing). `periodic` false: NOSPACE recovery only (every
   * control plane runs that: a leader that lost its lease cannot be elected again while etcd refuses
   * lease grants, so recovery must not wait for one); the leader also defragments periodically.
   */
  async pass(now = Date.now(), periodic = true): Promise<string> {
    const state = await this.health.probe();
    if (!state.reachable) return '';
    if (state.alarms.includes('NOSPACE')) return this.recover();
    if (!periodic) return '';
    if (now - this.lastDefragCheck < (this.options.defragEveryMs ?? 10 * 60_000)) return '';
    this.lastDefragCheck = now;
    const free = (state.dbSize ?? 0) - (state.dbSizeInUse ?? 0);
    if (free < (this.options.defragFreeBytes ?? 32 * 2 ** 20) || free < (state.dbSize ?? 0) * (this.options.defragFreeRatio ?? 0.5)) return '';
    return this.defragment(`${describeBytes(free)} of ${describeBytes(state.dbSize ?? 0)} free`);
  }

  /** Compact, defragment, and disarm NOSPACE if that brought the file well under the quota. */
  async recover(): Promise<string> {
    const revision = (await this.client.maintenance.status()).header.revision;
    // Nothing was deleted since the last recovery that left it full (a delete makes a revision):
    // compacting and defragmenting again would free nothing and block etcd while it runs.
    if (this.stillFullAt === revision) return '';
    await this.client.kv.compact({ revision, physical: true }).catch((error: Error) => {
      if (!/compacted/.test(error.message)) throw error; // already compacted that far: fine
    });
    const defragmented = await this.defragment('NOSPACE');
    const after = await this.health.probe();
    const quota = this.options.quotaBytes ?? ETCD_DEFAULT_QUOTA_BYTES;
    const size = after.dbSize ?? Infinity;
    const ratio = this.options.recoveredRatio ?? RECOVERED_QUOTA_RATIO;
    if (size > quota * ratio) {
      const line = `etcd NOSPACE: the database is ${describeBytes(size)} of a ${describeBytes(quota)} quota after compaction and defragmentation; delete objects (services, their replicas) to free space: the alarm is disarmed once it is under ${Math.round(ratio * 100)}%`;
      this.options.log?.(line);
      this.stillFullAt = revision;
      return line;
    }
    const alarms = await this.client.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' });
    for (const alarm of alarms.alarms ?? []) {
      if (String(alarm.alarm).toUpperCase() !== 'NOSPACE') continue;
      await this.client.maintenance.alarm({ action: 'Deactivate', memberID: alarm.memberID, alarm: 'Nospace' });
    }
    await this.health.probe();
    const line = `etcd NOSPACE disarmed: compacted at revision ${revision}, ${defragmented}, ${describeBytes(size)} of a ${describeBytes(quota)} quota`;
    this.options.log?.(line);
    return line;
  }

  private async defragment(why: string): Promise<string> {
    const before = this.health.state.dbSize ?? 0;
    // One member at a time: a defragmenting member serves nothing meanwhile, the others do.
    for (const member of this.options.members ?? [this.client]) await member.maintenance.defragment({ deadline: Date.now() + DEFRAG_DEADLINE_MS });
    const after = (await this.health.probe()).dbSize ?? 0;
    const line = `defragmented etcd (${why}): ${describeBytes(before)} → ${describeBytes(after)}`;
    this.options.log?.(line);
    return line;
  }
}
