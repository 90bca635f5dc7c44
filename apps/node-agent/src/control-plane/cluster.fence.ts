/**
 * The agent's fence against a control plane that does not hold the cluster's state (hashicorp/nomad#18267:
 * a control plane started on an empty store tells every agent that nothing is desired, and they stop
 * everything). The agent keeps, in `STATE/cluster.json`, the cluster identity it belongs to (learnt at
 * its first registration after the join) and the etcd revision of the last desired set it applied.
 * It applies a set only when the set names that identity and is no older than that revision, so:
 * - a control plane on another store (a wiped state dir, the wrong --etcd) has another identity: its
 *   registration is refused before anything is written, and its sets (empty ones included) are ignored;
 * - a control plane whose view lags (a cache not caught up, an etcd restored from an old backup
 *   without `--bump-revision`) cannot take the node back to an older desired set.
 * An empty set is only a set like any other: it is honoured under the same two conditions.
 */
import * as fs from 'node:fs';
import { isNoSpace, writeFileAtomic } from '@tide/runtime';

export interface FenceState {
  /** The cluster this node belongs to; undefined until its first registration. */
  clusterId?: string;
  /** The etcd revision of the last desired set applied (0: none yet). */
  revision: number;
  /** The pin (sha256 of the key) of the cluster CA the node's certificate came from when this was recorded. */
  ca?: string;
}

/** Why a set or a control plane is refused, as the refusals metric labels it. */
export type FenceRefusal = 'another-cluster' | 'older-revision' | 'no-identity' | 'not-registered';

export type FenceVerdict = { ok: true } | { ok: false; refusal: FenceRefusal; reason: string };

const OK: FenceVerdict = { ok: true };

/** Whether a control plane that answered a registration with `clusterId` may be talked to. */
export function registrationVerdict(state: FenceState, clusterId: string | undefined): FenceVerdict {
  if (!clusterId) return { ok: false, refusal: 'no-identity', reason: 'the control plane names no cluster identity (a version without fencing): not taking desired sets from it' };
  if (state.clusterId && state.clusterId !== clusterId) {
    return { ok: false, refusal: 'another-cluster', reason: `the control plane holds cluster ${clusterId}, this node belongs to cluster ${state.clusterId}: it is not this cluster's state (a wiped or foreign store); nothing of it is applied` };
  }
  return OK;
}

/** Whether a desired set may be applied (the containers started and stopped as it says). */
export function desiredSetVerdict(state: FenceState, set: { clusterId?: string; revision: number; replicas: readonly unknown[] }): FenceVerdict {
  const what = set.replicas.length === 0 ? 'an empty desired set' : `a desired set of ${set.replicas.length} replica(s)`;
  if (!set.clusterId) return { ok: false, refusal: 'no-identity', reason: `refused ${what} that names no cluster identity` };
  if (!state.clusterId) return { ok: false, refusal: 'not-registered', reason: `refused ${what}: this node has not registered with its cluster yet` };
  if (set.clusterId !== state.clusterId) return { ok: false, refusal: 'another-cluster', reason: `refused ${what} of cluster ${set.clusterId}: this node belongs to cluster ${state.clusterId}` };
  if (set.revision < state.revision) {
    return { ok: false, refusal: 'older-revision', reason: `refused ${what} at revision ${set.revision}: older than the set applied at revision ${state.revision} (a control plane behind the cluster's state)` };
  }
  return OK;
}

/** The fence's state, kept in a file (written atomically, only when it changes) across agent restarts. */
export class ClusterFence {
  private state: FenceState;

  /**
   * `caPin`: the pin of the CA of the node's current certificate. A node joined again to a cluster of
   * another CA (its state dir reused) starts afresh: the recorded identity was another cluster's.
   */
  constructor(private readonly file: string, private readonly caPin: string, private readonly log: (line: string) => void = () => undefined) {
    const stored = readFenceFile(file);
    this.state = stored.ca === undefined || stored.ca === caPin ? stored : { revision: 0 };
    if (this.state !== stored) log(`${file}: recorded for another cluster CA; the node learns its cluster again at its next registration`);
  }

  get current(): FenceState {
    return { ...this.state };
  }

  /** Checks a registration's answer; the first one after the join tells the node its cluster. */
  registered(clusterId: string | undefined): FenceVerdict {
    const verdict = registrationVerdict(this.state, clusterId);
    if (verdict.ok && !this.state.clusterId) this.save({ clusterId, revision: this.state.revision, ca: this.caPin });
    return verdict;
  }

  /** Checks a desired set; an accepted one raises the revision the next must reach. */
  admit(set: { clusterId?: string; revision: number; replicas: readonly unknown[] }): FenceVerdict {
    const verdict = desiredSetVerdict(this.state, set);
    if (verdict.ok && set.revision > this.state.revision) this.save({ ...this.state, revision: set.revision });
    return verdict;
  }

  /**
   * The state in memory moves on even when the file cannot be written (a full disk): this process
   * stays fenced; a restart before the next successful write starts from the older file, which can
   * only be more permissive by the revisions in between, never of another cluster once registered.
   */
  private save(next: FenceState): void {
    this.state = next;
    try {
      writeFileAtomic(this.file, JSON.stringify(next));
    } catch (error) {
      this.log(`warning: cannot record the cluster fence in ${this.file}${isNoSpace(error) ? ' (the disk is full)' : ''}: ${(error as Error).message}; kept in memory`);
    }
  }
}

/** A missing file is a node that never registered; an unreadable one is an error to fix, not a fresh start. */
function readFenceFile(file: string): FenceState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { revision: 0 };
    throw error;
  }
  let parsed: Partial<FenceState>;
  try {
    parsed = JSON.parse(text) as Partial<FenceState>;
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message}); remove the file only if this node should trust the next control plane it reaches`);
  }
  const optionalString = (value: unknown) => value === undefined || typeof value === 'string';
  if (typeof parsed.revision !== 'number' || !optionalString(parsed.clusterId) || !optionalString(parsed.ca)) {
    throw new Error(`${file}: expected {"clusterId": string, "revision": number, "ca": string}; remove the file only if this node should trust the next control plane it reaches`);
  }
  return { revision: parsed.revision, ...(parsed.clusterId ? { clusterId: parsed.clusterId } : {}), ...(parsed.ca ? { ca: parsed.ca } : {}) };
}
