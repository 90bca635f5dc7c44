/**
 * leader-kill: two control planes on one etcd, agents told both; a rollout of the web Service is
 * started and, once some replicas run the new template and some the old, the leading control plane
 * is killed with SIGKILL (only its Node process: the etcd and registry it supervises go on, as they
 * would on their own machines). The other one must take over and finish the rollout.
 */
import * as path from 'node:path';
import { AgentProcess } from '../../agent.process';
import { controlPlaneCommandLine, removeFlags, replaceFlags, startDetached } from '../../process.tools';
import { waitFor } from '../../harness';
import type { Service } from '@tide/api';
import { BASE_PORT, WEB, WEB_REPLICAS, webService } from './chaos.workload';
import type { ChaosContext, ChaosScenario } from './scenario';

export const leaderKill: ChaosScenario = {
  name: 'leader-kill',
  fault: 'SIGKILL of the leading control plane (of two) in the middle of a rollout',
  takesServingReplicas: false,
  needs: {},
  async prepare(context: ChaosContext) {
    const { cluster, spare } = context;
    const { argv } = controlPlaneCommandLine(path.join(cluster.stateDir, 'control-plane'));
    const second = `https://127.0.0.1:${spare.apiPort}`;
    const secondArgv = [
      ...replaceFlags(removeFlags(argv, ['--etcd-port', '--registry-listen']), {
        '--listen': `127.0.0.1:${spare.apiPort}`, '--grpc-listen': `127.0.0.1:${spare.grpcPort}`,
        '--state-dir': path.join(cluster.stateDir, 'second-control-plane'),
      }),
      '--id', 'second', '--etcd', `https://127.0.0.1:${BASE_PORT + 2}`,
      '--registry', `127.0.0.1:${BASE_PORT + 4}`, '--registry-ca', path.join(cluster.stateDir, 'pki', 'ca.crt'),
    ];
    startDetached(secondArgv, path.join(cluster.stateDir, 'second-control-plane.log'));
    await waitFor('the second control plane following', async () =>
      ((await cluster.fetch('/healthz', {}, second).then((r) => r.json()).catch(() => undefined)) as { leader?: boolean } | undefined)?.leader === false, 120_000, 500);
    context.servers.push(second);
    for (const node of ['node-1', 'node-2']) {
      const agent = new AgentProcess(cluster, node);
      await agent.kill();
      agent.start({ replace: { '--control-plane': `127.0.0.1:${BASE_PORT + 1},127.0.0.1:${spare.grpcPort}` }, logName: `agent-two-control-planes-${node}.log` });
    }
    await waitFor('both nodes Ready with their agents told both control planes', async () => {
      const nodes = await cluster.nodeList();
      return nodes.length === 2 && nodes.every((n) => n.status?.ready);
    }, 120_000, 500);
  },
  async inject({ cluster, writes, log }: ChaosContext) {
    const leader = controlPlaneCommandLine(path.join(cluster.stateDir, 'control-plane'));
    const rollout = await writes.apply(WEB, webService(writes.nextMark()), WEB_REPLICAS);
    if (rollout.outcome !== 'acknowledged') throw new Error(`the rollout's apply was not acknowledged (${rollout.status})`);
    await waitFor('the rollout half way: replicas on the new template and on the old', async () => {
      const status = (await cluster.api<Service>(`/api/v1/services/${WEB}?namespace=default`)).status;
      return (status?.updatedReplicas ?? 0) >= 1 && (status?.oldReplicas ?? 0) >= 1;
    }, 120_000, 100);
    process.kill(leader.pid, 'SIGKILL');
    const killedAt = performance.now();
    log('leader-kill: the leading control plane killed mid-rollout');
    return { faultOverAt: killedAt };
  },
};
