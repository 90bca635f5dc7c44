/**
 * etcd-member-kill: three supervised etcd members; during an apply storm (six more writers, each
 * applying its own Service back to back) the member that leads is killed with SIGKILL. Two members
 * are a quorum: writes go on after an election, and the control plane restarts the killed member.
 */
import { etcdMembers } from './etcd.client';
import { etcdOf } from './chaos.run';
import { churnService } from './write.stream';
import type { ChaosContext, ChaosScenario } from './scenario';

const STORM_WRITERS = 6;
const STORM_MS = 20_000;

export const etcdMemberKill: ChaosScenario = {
  name: 'etcd-member-kill',
  fault: 'SIGKILL of the etcd leader (of 3 members) during an apply storm',
  takesServingReplicas: false,
  needs: { upFlags: ['--etcd-members', '3'] },
  async inject({ cluster, writes, log }: ChaosContext) {
    const etcd = etcdOf(cluster, this);
    const until = performance.now() + STORM_MS;
    const storm = Array.from({ length: STORM_WRITERS }, async (_, i) => {
      const name = `chx-storm-${i}`;
      while (performance.now() < until) await writes.apply(name, churnService(name, 0, writes.nextMark()), 0);
    });
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const leaderUrl = etcd.leaderUrl();
    const leader = etcdMembers(cluster.stateDir).find((m) => m.clientUrl === leaderUrl);
    if (!leader) throw new Error(`no etcd process advertises ${leaderUrl}`);
    process.kill(leader.pid, 'SIGKILL');
    const killedAt = performance.now();
    log(`etcd-member-kill: killed ${leader.name} (the leader) during the storm`);
    // Two members are a quorum: the fault is the kill itself, and recovery (a write acknowledged
    // after it, the API ready) is measured from it while the storm goes on.
    const stormOver = Promise.all(storm).then(() => ({ storm_writes: writes.ledger.filter((r) => r.service.startsWith('chx-storm-')).length }));
    return { faultOverAt: killedAt, continuing: stormOver };
  },
};
