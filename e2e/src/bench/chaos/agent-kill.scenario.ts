/**
 * agent-kill: kill -9 of a node agent, restarted at once (as systemd would), then a minute of them:
 * every 1-5 s the agent of a random node, each kill timed into a container start or stop of that node
 * when one comes within 3 s (the write stream scales the sleeping Services up and down all the time).
 * The containers stay in the reaper's care and the balancer runs in its own process: nothing should
 * stop serving.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentProcess } from '../../agent.process';
import type { TestCluster } from '../../harness';
import { listReplicas } from './chaos.workload';
import { containerIds } from './host.checks';
import type { ChaosContext, ChaosScenario } from './scenario';

const LOOP_MS = 60_000;
const NODES = ['node-1', 'node-2'];

type Moment = 'mid-create' | 'mid-delete' | 'steady';

export const agentKill: ChaosScenario = {
  name: 'agent-kill',
  fault: 'kill -9 of an agent, then one every 1-5 s for a minute, into starts and stops',
  takesServingReplicas: false,
  needs: {},
  async inject({ cluster, log }: ChaosContext) {
    const agents = new Map(NODES.map((node) => [node, new AgentProcess(cluster, node)]));
    const moments: Record<Moment, number> = { 'mid-create': 0, 'mid-delete': 0, steady: 0 };
    let kills = 0;
    const killAndRestart = async (node: string) => {
      const moment = await awaitMoment(cluster, node, 3000);
      const agent = agents.get(node)!;
      await agent.kill();
      agent.start({ logName: `agent-kill-${node}.log` });
      moments[moment]++;
      kills++;
    };
    await killAndRestart('node-1');
    const until = performance.now() + LOOP_MS;
    while (performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 4000));
      await killAndRestart(NODES[Math.floor(Math.random() * NODES.length)]);
    }
    log(`agent-kill: ${kills} kills (${moments['mid-create']} mid-create, ${moments['mid-delete']} mid-delete)`);
    return { figures: { kills, mid_create_kills: moments['mid-create'], mid_delete_kills: moments['mid-delete'] } };
  },
};

/**
 * Waits up to `withinMs` for a start (a container directory without its state file yet) or a stop (a
 * replica of the node Terminating) on the node, and says which it caught.
 */
async function awaitMoment(cluster: TestCluster, node: string, withinMs: number): Promise<Moment> {
  const containers = path.join(cluster.stateDir, 'nodes', node, 'containers');
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    if (containerIds(cluster.stateDir, node).some((id) => !fs.existsSync(path.join(containers, id, 'state.json')))) return 'mid-create';
    const replicas = await listReplicas(cluster, cluster.server).catch(() => []);
    if (replicas.some((r) => r.spec.nodeName === node && r.status?.phase === 'Terminating')) return 'mid-delete';
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return 'steady';
}
