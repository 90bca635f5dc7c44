/**
 * etcd-outage: every etcd member stopped (SIGSTOP: the process is there and answers nothing, as a
 * partitioned or frozen machine) for 15 s, then continued. The API must refuse writes at once (503,
 * nothing written) and never apply one later; containers keep serving.
 */
import { etcdMembers } from './etcd.client';
import type { ChaosContext, ChaosScenario } from './scenario';

const OUTAGE_MS = 15_000;

export const etcdOutage: ChaosScenario = {
  name: 'etcd-outage',
  fault: 'every etcd member stopped (SIGSTOP) for 15 s',
  takesServingReplicas: false,
  needs: {},
  async inject({ cluster, log }: ChaosContext) {
    const members = etcdMembers(cluster.stateDir);
    if (members.length === 0) throw new Error('no etcd process found');
    for (const member of members) process.kill(member.pid, 'SIGSTOP');
    log(`etcd-outage: ${members.length} member(s) stopped`);
    try {
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    } finally {
      for (const member of members) process.kill(member.pid, 'SIGCONT');
    }
    return { figures: { members: members.length } };
  },
};
