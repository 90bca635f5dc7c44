/**
 * The node autoscaler's decisions, pure (the loop that asks a NodeProvider to act comes later):
 * - `planScaleUp`: replicas Pending for lack of room get new nodes of the pool's template, as many as
 *   libs/scheduler's own what-if needs to place them all in one decision (Karpenter bin-packs the
 *   pending pods into new nodes at once; the Cluster Autoscaler's estimator does too), counting
 *   nodes still booting as coming, never above the pool's maxNodes, and never for a replica that no
 *   node of the pool's shape could take (it would wait on a node that cannot help it).
 * - `planScaleDown`: nodes left empty (by consolidation or a scale-in) for `delayMs` are handed back,
 *   longest empty first, never below minNodes. A node a user cordoned or drains is theirs: kept.
 * Both answer the Events to record, with their reasons.
 */
import { Node, Replica } from '@tide/api';
import { NodeInfo, PendingReplica, scheduleBatch, serviceKey } from '@tide/scheduler';
import { NodePool } from './node.provider';
import { holdsResources, isTerminating } from './replica.predicates';

export interface NodeEvent {
  reason: 'NodeScaleUp' | 'NodeScaleUpLimited' | 'NoNodeShapeFits' | 'NodeScaleDown';
  message: string;
  /** The node an event is about (scale-down), else the pool's. */
  node?: string;
}

export interface ScaleUpInput {
  pool: NodePool;
  /** Every registered node as the scheduler sees it (scheduler.input.ts `nodeInfos`). */
  nodes: readonly NodeInfo[];
  /** The pool's nodes now: registered ones and those still booting. */
  poolSize: number;
  /** The pool's nodes made but not Ready yet: each comes as an empty node of the template. */
  booting: number;
  /** Replicas the scheduler could not place (`status.unschedulable`), as its inputs. */
  pending: readonly PendingReplica[];
  /** Replicas expected within a node's boot (node.prescale.plan.ts): placed with the pending ones, after them. */
  expected?: { replicas: readonly PendingReplica[]; why: string };
}

export interface ScaleUpPlan {
  /** New nodes to ask the provider for. */
  add: number;
  /** Pending replicas the booting nodes (or room that freed up) will take: no node added for them. */
  onComing: number;
  /** Pending replicas the new nodes take. */
  onNew: number;
  /** Replicas left pending because the pool is at maxNodes. */
  overMax: PendingReplica[];
  /** Replicas no node of the pool's shape could take, each with the scheduler's reason. */
  never: { replica: PendingReplica; reason: string }[];
  events: NodeEvent[];
}

function templateNode(pool: NodePool, name: string): NodeInfo {
  return {
    name, labels: { ...pool.template.labels }, allocatable: { cpu: pool.template.cpu, memory: pool.template.memory },
    requested: { cpu: 0, memory: 0 }, ready: true, cordoned: false, replicasOfService: {}, hostPorts: new Set(), images: new Set(),
  };
}

/** The replicas one empty node of the template cannot take (asked once per distinct shape), with why. */
function neverFit(pool: NodePool, pending: readonly PendingReplica[]): Map<PendingReplica, string> {
  const byShape = new Map<string, string | undefined>();
  const never = new Map<PendingReplica, string>();
  for (const replica of pending) {
    const shape = JSON.stringify([serviceKey(replica), replica.cpu, replica.memory, replica.nodeSelector ?? null, replica.hostPorts ?? null]);
    if (!byShape.has(shape)) {
      const alone = scheduleBatch([templateNode(pool, `${pool.name}-template`)], [replica]);
      byShape.set(shape, alone.unschedulable[0] ? Object.values(alone.unschedulable[0].reasons)[0] : undefined);
    }
    const reason = byShape.get(shape);
    if (reason !== undefined) never.set(replica, reason);
  }
  return never;
}

/** Fewest new nodes the requests could need (a lower bound the what-if starts from). */
function lowerBound(pool: NodePool, pending: readonly PendingReplica[]): number {
  const cpu = pending.reduce((sum, r) => sum + r.cpu, 0);
  const memory = pending.reduce((sum, r) => sum + r.memory, 0);
  return Math.max(Math.ceil(cpu / pool.template.cpu), Math.ceil(memory / pool.template.memory));
}

/**
 * The what-if: the scheduler places the pending replicas on the registered nodes, the booting ones
 * and `fresh` new ones. Tried from the lower bound up, one node more at a time, because the spread
 * cap depends on how many nodes are eligible: a what-if over every node the pool may still add would
 * spread the replicas over more new nodes than the scheduler will when only the added ones exist.
 */
function whatIf(input: ScaleUpInput, candidates: readonly PendingReplica[], room: number) {
  const coming = Array.from({ length: input.booting }, (_, i) => templateNode(input.pool, `${input.pool.name}-booting-${i}`));
  let fresh = Math.min(room, Math.max(0, lowerBound(input.pool, candidates) - input.booting));
  for (;;) {
    const names = Array.from({ length: fresh }, (_, i) => `${input.pool.name}-new-${i}`);
    const result = scheduleBatch([...input.nodes, ...coming, ...names.map((name) => templateNode(input.pool, name))], candidates);
    if (result.unschedulable.length === 0 || fresh >= room) {
      const isNew = new Set(names);
      const used = new Set(result.bindings.filter((b) => isNew.has(b.node)).map((b) => b.node));
      const onNew = result.bindings.filter((b) => isNew.has(b.node)).length;
      return { add: used.size, onNew, onComing: result.bindings.length - onNew, overMax: result.unschedulable.map((u) => u.replica) };
    }
    fresh++;
  }
}

export function planScaleUp(input: ScaleUpInput): ScaleUpPlan {
  const { pool } = input;
  const expected = input.expected?.replicas ?? [];
  const never = neverFit(pool, [...input.pending, ...expected]);
  const candidates = [...input.pending, ...expected].filter((r) => !never.has(r));
  const events: NodeEvent[] = [...summarizeNever(pool, never)];
  if (candidates.length === 0) return { add: 0, onComing: 0, onNew: 0, overMax: [], never: toList(never), events };
  const room = Math.max(0, pool.maxNodes - input.poolSize);
  const plan = whatIf(input, candidates, room);
  const shape = `${pool.template.cpu}m CPU, ${gib(pool.template.memory)} GiB`;
  const parts = [
    ...(plan.onComing > 0 ? [`${plan.onComing} fit on the ${input.booting} node(s) booting or on room freed meanwhile`] : []),
    ...(plan.add > 0 ? [`${plan.add} new node(s) of pool ${pool.name} (${shape}) take ${plan.onNew} (the scheduler's what-if)`] : []),
  ];
  const waiting = candidates.length - expected.filter((r) => !never.has(r)).length;
  const head = [
    ...(waiting > 0 ? [`${waiting} replica(s) pending for lack of room`] : []),
    ...(candidates.length > waiting ? [`${candidates.length - waiting} expected ahead (${input.expected!.why})`] : []),
  ].join(' and ') + ` (${services(candidates)})`;
  if (plan.add > 0 || plan.onComing > 0) events.push({ reason: 'NodeScaleUp', message: `${head}: ${parts.join('; ')}` });
  if (plan.overMax.length > 0) {
    events.push({ reason: 'NodeScaleUpLimited', message: `${head}: pool ${pool.name} is at its maxNodes (${pool.maxNodes}): ${plan.overMax.length} stay pending` });
  }
  return { ...plan, never: toList(never), events };
}

function summarizeNever(pool: NodePool, never: Map<PendingReplica, string>): NodeEvent[] {
  if (never.size === 0) return [];
  const [replica, reason] = never.entries().next().value as [PendingReplica, string];
  return [{ reason: 'NoNodeShapeFits', message: `${never.size} pending replica(s) fit no node of pool ${pool.name} even empty `
    + `(${pool.template.cpu}m CPU, ${gib(pool.template.memory)} GiB): ${replica.name}: ${reason}; no node added for them` }];
}

function toList(never: Map<PendingReplica, string>) {
  return [...never.entries()].map(([replica, reason]) => ({ replica, reason }));
}

function services(replicas: readonly PendingReplica[]): string {
  const counts = new Map<string, number>();
  for (const r of replicas) counts.set(serviceKey(r), (counts.get(serviceKey(r)) ?? 0) + 1);
  return [...counts.entries()].map(([key, n]) => `${key} ×${n}`).join(', ');
}

const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;

export interface ScaleDownInput {
  pool: NodePool;
  /** The pool's registered nodes. */
  nodes: readonly Node[];
  /** Every replica (those bound to the pool's nodes, and those not placed yet, matter). */
  replicas: readonly Replica[];
  /** The pool's nodes made but not registered or Ready yet: they count in its size. */
  booting: number;
  /** Since when each node has been empty and removable (`trackEmpty`). */
  emptySince: ReadonlyMap<string, number>;
  nowMs: number;
  /** How long a node must stay empty before it goes. */
  delayMs: number;
  /** Empty nodes replicas expected within a node's boot would take (`emptyNodesExpected`): kept. */
  keep?: number;
}

export interface ScaleDownPlan {
  remove: string[];
  /** Why nothing (more) is removed, when something is empty but stays. */
  held?: string;
  events: NodeEvent[];
}

/**
 * A node the autoscaler may hand back once it is empty: Ready, neither cordoned nor drained by a
 * user (a cordon is a person's decision), and no replica holding resources there, stopping ones
 * included (they still run). A finished replica's record does not keep a node. Tide runs no
 * per-node daemons, so empty means no live replica at all.
 */
export function removableEmpty(node: Node, replicas: readonly Replica[]): boolean {
  if (!node.status?.ready || node.spec.cordoned || node.spec.drain) return false;
  return !replicas.some((r) => r.spec.nodeName === node.metadata.name && holdsResources(r));
}

/** The nodes empty and removable now, each with the time it became so (kept from `previous`). */
export function trackEmpty(previous: ReadonlyMap<string, number>, nodes: readonly Node[], replicas: readonly Replica[], nowMs: number): Map<string, number> {
  const bound = new Set(replicas.filter(holdsResources).map((r) => r.spec.nodeName!));
  const next = new Map<string, number>();
  for (const node of nodes) {
    const empty = node.status?.ready && !node.spec.cordoned && !node.spec.drain && !bound.has(node.metadata.name);
    if (empty) next.set(node.metadata.name, previous.get(node.metadata.name) ?? nowMs);
  }
  return next;
}

export function planScaleDown(input: ScaleDownInput): ScaleDownPlan {
  const due = input.nodes
    .filter((n) => removableEmpty(n, input.replicas))
    .map((n) => ({ name: n.metadata.name, since: input.emptySince.get(n.metadata.name) ?? input.nowMs }))
    .filter((n) => input.nowMs - n.since >= input.delayMs)
    .sort((a, b) => a.since - b.since || a.name.localeCompare(b.name));
  if (due.length === 0) return { remove: [], events: [] };
  // A replica the scheduler has not tried yet may be about to land on an empty node: decide after it has.
  const unseen = input.replicas.find((r) => !r.spec.nodeName && !isTerminating(r) && !r.status?.unschedulable);
  if (unseen) return { remove: [], held: `replica ${unseen.metadata.name} is waiting for the scheduler`, events: [] };
  const size = input.nodes.length + input.booting;
  const removable = Math.max(0, Math.min(size - input.pool.minNodes, due.length - (input.keep ?? 0)));
  const remove = due.slice(0, removable);
  const events: NodeEvent[] = remove.map((n) => ({
    reason: 'NodeScaleDown', node: n.name,
    message: `empty for ${duration(input.nowMs - n.since)} (at least ${duration(input.delayMs)}): handed back to pool ${input.pool.name}, `
      + `which keeps ${size - remove.length} node(s) (min ${input.pool.minNodes})`,
  }));
  const atMin = size - remove.length <= input.pool.minNodes;
  const held = remove.length >= due.length ? undefined
    : atMin ? `pool ${input.pool.name} is at its minNodes (${input.pool.minNodes}): ${due.length - remove.length} empty node(s) stay`
    : `${due.length - remove.length} empty node(s) stay for replicas expected ahead`;
  return { remove: remove.map((n) => n.name), ...(held ? { held } : {}), events };
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
