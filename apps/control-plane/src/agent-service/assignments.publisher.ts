/**
 * Pushes to every agent's WatchAssignments stream the complete set of replicas desired on its node,
 * from the watch-fed cache. A replica change recomputes the streams of its node only (before and
 * after a move); a change of the node slices goes to every stream. A stream gets a message only when
 * its set or the slices changed, and a new stream gets the current set at once.
 */
import { ConfigData, NodeAssignments, Replica, ReplicaAssignment, referencedConfigs } from '@tide/api';
import { assignmentOf, desiredAssignments } from '@tide/control';
import { CacheChange, ClusterCache, ConfigCache, ConfigChange } from '@tide/store';
import { AgentStream } from './agent.stream';
import { NodeSlices } from './node.slices';

export type AssignmentsStream = AgentStream<NodeAssignments>;

/** What the publisher reads: the watch-fed cache. */
export type AssignmentsSource = Pick<ClusterCache, 'onChange' | 'replicasOn' | 'list' | 'revision'>;
/** The ConfigMaps and Secrets (Secrets opened): each node gets those its replicas name. */
export type ConfigSource = Pick<ConfigCache, 'get' | 'onChange'>;

const NO_CONFIGS: ConfigSource = { get: () => undefined, onChange: () => () => undefined };

const REFRESH_MS = 5;
const SLICES_REFRESH_MS = 1000;

interface StreamState {
  /** The replicas last sent: each one's name, service and template hash, and the configs' versions. */
  last: string;
  slicesVersion: number;
  /** The configs (configKeyOf) the node's replicas name: a change of one is pushed to it. */
  configKeys: Set<string>;
}

export class AssignmentsPublisher {
  private readonly streams = new Map<AssignmentsStream, StreamState>();
  /**
   * Each cached Replica object's assignment, made once: a node's set is sent again whole at every
   * change, and the cache keeps an object until the replica changes.
   */
  private readonly assignments = new WeakMap<Replica, ReplicaAssignment>();
  private readonly assignmentOf = (replica: Replica): ReplicaAssignment => {
    let assignment = this.assignments.get(replica);
    if (!assignment) this.assignments.set(replica, (assignment = assignmentOf(replica)));
    return assignment;
  };
  private readonly slices: NodeSlices;
  /** Nodes whose assignments may have changed since the last refresh; `all` after a change of slices. */
  private dirty = new Set<string>();
  private all = false;
  private lastSlicesRefresh = 0;
  private refreshTimer?: NodeJS.Timeout;
  private slicesTimer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private unsubscribeConfigs?: () => void;

  /** `clusterId`: the cluster's identity, sent with every set (the agents' fence). */
  constructor(private readonly cache: AssignmentsSource, private readonly clusterId?: string, private readonly configs: ConfigSource = NO_CONFIGS) {
    this.slices = new NodeSlices(cache);
  }

  start(): void {
    this.unsubscribe = this.cache.onChange((change) => this.changed(change));
    this.unsubscribeConfigs = this.configs.onChange((change) => this.configChanged(change));
  }

  /** A ConfigMap or Secret changed: the nodes whose replicas name it get it again. */
  private configChanged(change: ConfigChange): void {
    for (const [stream, state] of this.streams) {
      if (change.key === 'resync' || state.configKeys.has(change.key)) this.dirty.add(stream.node);
    }
    this.scheduleRefresh();
  }

  /** A WatchAssignments call: the node's set now, every change after. */
  watch(stream: AssignmentsStream): void {
    this.streams.set(stream, { last: '', slicesVersion: -1, configKeys: new Set() });
    const forget = () => this.streams.delete(stream);
    stream.on('cancelled', forget);
    stream.on('close', forget);
    this.push(stream);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribeConfigs?.();
    clearTimeout(this.refreshTimer);
    clearTimeout(this.slicesTimer);
    for (const stream of this.streams.keys()) stream.end();
    this.streams.clear();
  }

  /** Which streams a change concerns: a replica's node (before and after), or every node for slices. */
  private changed(change: CacheChange): void {
    if (change.kind === 'Replica') {
      // Status reports are most replica changes and leave every assignment as it was.
      if (sameAssignment(change.previous, change.current)) return;
      if (change.previous?.spec.nodeName) this.dirty.add(change.previous.spec.nodeName);
      if (change.current?.spec.nodeName) this.dirty.add(change.current.spec.nodeName);
    } else if (this.slices.invalidatedBy(change)) {
      // Nodes joining (or getting a new address) change every agent's routes to the other slices.
      this.all = true;
    } else {
      return;
    }
    this.scheduleRefresh();
  }

  /**
   * Replica changes come in bursts: recompute the concerned streams once per burst (5 ms: a
   * commit's bindings arrive in one watch response, so a node rarely changes twice within it). A change
   * of slices goes to every stream, each message carrying every slice; while nodes join one after
   * another that is at most once a second, or 500 nodes joining cost 500 × 500 × 500 slices sent.
   */
  private scheduleRefresh(): void {
    if (this.all && !this.slicesTimer) {
      const delayMs = Math.max(REFRESH_MS, this.lastSlicesRefresh + SLICES_REFRESH_MS - Date.now());
      this.slicesTimer = setTimeout(() => {
        this.slicesTimer = undefined;
        this.all = false;
        this.lastSlicesRefresh = Date.now();
        for (const stream of this.streams.keys()) this.push(stream);
      }, delayMs);
    }
    if (this.dirty.size === 0 || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      const dirty = this.dirty;
      this.dirty = new Set();
      for (const stream of this.streams.keys()) if (dirty.has(stream.node)) this.push(stream);
    }, REFRESH_MS);
  }

  private configsOf(replicas: ReplicaAssignment[]): { keys: string[]; data: ConfigData[] } {
    return configsOfReplicas(replicas, (key) => this.configs.get(key));
  }

  private push(stream: AssignmentsStream): void {
    const state = this.streams.get(stream);
    if (!state) return;
    const replicas = desiredAssignments(this.cache.replicasOn(stream.node), this.assignmentOf);
    const configs = this.configsOf(replicas);
    state.configKeys = new Set(configs.keys);
    // A replica's template never changes under its hash: names, hashes and pauses say whether the set did.
    const text = replicas.map((r) => `${r.namespace}/${r.name}|${r.service}|${r.templateHash}${r.paused ? '|paused' : ''}`).join('\n')
      + configs.data.map((c) => `\n${c.kind}/${c.namespace}/${c.name}@${c.version}`).join('');
    const slices = this.slices.current();
    if (text === state.last && state.slicesVersion === slices.version) return;
    // An agent that keeps the last list is sent it only when it changed: at 500 nodes the other 499
    // slices are most of every message's bytes, sent again each time one of the node's replicas moves.
    const nodesUnchanged = stream.nodesWhenChanged === true && state.slicesVersion === slices.version;
    state.last = text;
    state.slicesVersion = slices.version;
    stream.write({
      replicas, revision: this.cache.revision,
      nodes: nodesUnchanged ? [] : slices.slices.filter((slice) => slice.nodeName !== stream.node),
      ...(nodesUnchanged ? { nodesUnchanged: true as const } : {}),
      ...(this.clusterId ? { clusterId: this.clusterId } : {}),
      ...(configs.data.length ? { configs: configs.data } : {}),
    });
  }
}

/** The configs the replicas name (keys, present or not) and the data of those that exist. */
function configsOfReplicas(replicas: ReplicaAssignment[], lookup: (key: string) => ConfigData | undefined): { keys: string[]; data: ConfigData[] } {
  const keys = [...new Set(replicas.flatMap((r) => referencedConfigs(r.namespace, r.template)))].sort();
  return { keys, data: keys.map(lookup).filter((c): c is ConfigData => c !== undefined) };
}

/** What a node's set holds of a replica is the same before and after (where, whether, what it runs, paused or not). */
function sameAssignment(previous: Replica | undefined, current: Replica | undefined): boolean {
  if (!previous || !current) return false;
  const sent = (r: Replica) => `${r.spec.nodeName ?? ''}|${r.spec.templateHash}|${r.metadata.deletionTimestamp ? 1 : 0}|${r.status?.lastExit?.reason === 'NodeLost' ? 1 : 0}|${r.spec.paused ? 1 : 0}`;
  return sent(previous) === sent(current);
}
