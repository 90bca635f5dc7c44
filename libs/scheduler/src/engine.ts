/**
 * The batch engine: places every pending replica from one snapshot, larger requests first, updating
 * its copy of the nodes after each binding so a batch never oversubscribes a node.
 */
import { DEFAULT_PROFILE, FILTERS, SCORES, SchedulerProfile } from './registry';
import {
  Binding, FilterPlugin, NodeInfo, PendingReplica, ScheduleResult, ScorePlugin, Unschedulable, serviceKey,
} from './types';

export interface SchedulerOptions {
  profile?: SchedulerProfile;
}

interface Plugins {
  filters: FilterPlugin[];
  scores: { plugin: ScorePlugin; weight: number }[];
}

function buildPlugins(profile: SchedulerProfile): Plugins {
  return {
    filters: profile.filters.map((name) => FILTERS[name]()),
    scores: Object.entries(profile.scores).map(([name, weight]) => ({ plugin: SCORES[name](), weight })),
  };
}

/** Dominant share of the largest node: orders the batch so big replicas are placed first. */
function sizeOrder(nodes: NodeInfo[]): (a: PendingReplica, b: PendingReplica) => number {
  const cpu = Math.max(1, ...nodes.map((n) => n.allocatable.cpu));
  const memory = Math.max(1, ...nodes.map((n) => n.allocatable.memory));
  const share = (r: PendingReplica) => Math.max(r.cpu / cpu, r.memory / memory);
  return (a, b) => share(b) - share(a) || a.name.localeCompare(b.name);
}

export function scheduleBatch(nodes: NodeInfo[], pending: PendingReplica[], options: SchedulerOptions = {}): ScheduleResult {
  const plugins = buildPlugins(options.profile ?? DEFAULT_PROFILE);
  const state = nodes.map(cloneNode);
  const bindings: Binding[] = [];
  const unschedulable: Unschedulable[] = [];
  for (const replica of [...pending].sort(sizeOrder(nodes))) {
    const choice = placeOne(replica, state, plugins);
    if ('node' in choice) {
      commit(choice.node, replica);
      bindings.push({ replica, node: choice.node.name });
    } else {
      unschedulable.push({ replica, summary: summarize(state.length, choice.reasons), reasons: choice.reasons });
    }
  }
  return { bindings, unschedulable };
}

function placeOne(
  replica: PendingReplica,
  nodes: NodeInfo[],
  plugins: Plugins,
): { node: NodeInfo } | { reasons: Record<string, string> } {
  let best: NodeInfo | undefined;
  let bestScore = -Infinity;
  let reasons: Record<string, string> | undefined;
  for (const node of nodes) {
    const rejection = firstRejection(replica, node, plugins.filters);
    if (rejection !== undefined) {
      (reasons ??= {})[node.name] = rejection;
      continue;
    }
    let score = 0;
    for (const { plugin, weight } of plugins.scores) score += weight * plugin.score(replica, node);
    if (score > bestScore) {
      bestScore = score;
      best = node;
    }
  }
  return best ? { node: best } : { reasons: reasons ?? {} };
}

function firstRejection(replica: PendingReplica, node: NodeInfo, filters: FilterPlugin[]): string | undefined {
  for (const filter of filters) {
    const status = filter.filter(replica, node);
    if (!status.fits) return status.reason;
  }
  return undefined;
}

function commit(node: NodeInfo, replica: PendingReplica): void {
  node.requested.cpu += replica.cpu;
  node.requested.memory += replica.memory;
  const key = serviceKey(replica);
  node.replicasOfService![key] = (node.replicasOfService![key] ?? 0) + 1;
}

function cloneNode(node: NodeInfo): NodeInfo {
  return { ...node, requested: { ...node.requested }, replicasOfService: { ...(node.replicasOfService ?? {}) } };
}

/** "0/5 nodes available: 3 insufficient memory, 2 not ready" */
export function summarize(nodeCount: number, reasons: Record<string, string>): string {
  const counts = new Map<string, number>();
  for (const reason of Object.values(reasons)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
  return `0/${nodeCount} nodes available${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
