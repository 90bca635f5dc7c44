/**
 * `tsctl host kill NODE` and `tsctl host start NODE`: test aids for clusters of simulated hosts
 * (`tsctl up --hosts netns`). Kill ends every process of the host at once and takes its LAN link
 * down, as a power cut would; start brings the link up and starts its agent again as `tsctl up`
 * did (the agent has its certificate by then, so it needs no join token).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../cli/args';
import { Command, CommandContext } from '../commands/command';
import { ClusterError, DEFAULT_STATE_DIR, clusterLayoutOf, ensureAgent } from './cluster.commands';
import { readClusterRecord } from './cluster.record';
import { killHost, setHostLink } from './simulated.hosts';

const USAGE = 'tsctl host kill|start NODE [--state-dir DIR]';

function hostOf(ctx: CommandContext) {
  const [verb, name] = ctx.args;
  if ((verb !== 'kill' && verb !== 'start') || !name || ctx.args.length > 2) throw new UsageError(`expected kill or start and one NODE\nusage: ${USAGE}`);
  const stateDir = path.resolve(ctx.options.get('state-dir') ?? ctx.config.stateDir ?? DEFAULT_STATE_DIR);
  const record = readClusterRecord(stateDir);
  if (!record) throw new ClusterError(`no cluster in ${stateDir} (no cluster.json): start one with tsctl up --hosts netns, or give --state-dir`);
  if (record.hosts?.mode !== 'netns') throw new ClusterError(`the cluster in ${stateDir} runs its nodes on loopback: tsctl host needs one started with --hosts netns`);
  const layout = clusterLayoutOf(record);
  const node = layout.nodes.find((n) => n.name === name);
  const recorded = record.nodes.find((n) => n.name === name);
  if (!node?.host || !recorded) throw new UsageError(`no host ${name} in the cluster in ${stateDir} (hosts: ${layout.nodes.map((n) => n.name).join(', ')})`);
  return { verb, node, recorded, host: node.host };
}

export const hostCommand: Command = {
  name: 'host',
  usage: USAGE,
  summary: 'simulated hosts (tsctl up --hosts netns): kill ends every process of a host at once, as a power cut; start brings it back',
  options: [{ long: 'state-dir', help: "the cluster's state dir (default: the one tsctl up used last)" }],
  async run(ctx: CommandContext): Promise<void> {
    const { verb, node, recorded, host } = hostOf(ctx);
    if (verb === 'kill') {
      const killed = await killHost(host);
      return ctx.out(`host ${node.name} (${host.address}) killed: ${killed} process(es) ended, its link is down`);
    }
    if (!recorded.argv) throw new ClusterError(`the record of ${node.name} says not how its agent was started (a cluster from an older tsctl): run tsctl up again`);
    if (!fs.existsSync(`/run/netns/${host.netns}`)) throw new ClusterError(`host ${node.name} has no namespace ${host.netns}: run tsctl up again to make it`);
    setHostLink(host, true);
    const started: string[] = [];
    const pid = ensureAgent(node, started, recorded.argv);
    ctx.out(started.length > 0 ? `host ${node.name} (${host.address}) started: agent pid ${pid}` : `host ${node.name} is running already (agent pid ${pid})`);
  },
};
