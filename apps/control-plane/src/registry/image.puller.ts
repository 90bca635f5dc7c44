/**
 * On-demand pulls and pre-pulls (leader only, a LeaderRunner loop). A replica bound to a node whose
 * image that node does not report (`Node.status.images`) makes the control plane ask the node's agent
 * to pull it from the cluster registry, with a pull token of its own; so does a Service with replicas
 * for every Ready node that takes new replicas (not cordoned, not draining) and lacks its image, so that
 * a scale-out or an autoscale floor finds the image there. Events on the waiting replicas (or the
 * Service, for a pre-pull) say `Pulling`, `Pulled` or `ErrImagePull` with the registry's message. One
 * pull per node and image at a time however many replicas wait; a failed one is tried again after
 * 10 s, doubling to 5 min. The agent's own start retries (its restart backoff) then find the image.
 * Only the cluster registry's images are pulled (another registry's would need its credentials).
 * The nodes that start pulling one image in the same round are each other's peers (peer-to-peer
 * layers: each layer from the registry once, then node to node), as `tsctl image pull`'s are.
 */
import { Node, Replica, Service, normalizeImageReference } from '@tide/api';
import { pullPlan, type PullPlan } from '@tide/registry';
import type { ClusterCache } from '@tide/store';
import { AgentCredentials, agentJson, agentOf, peersOf } from '../api/agent.client';
import type { EventRecord, EventRecorder } from '../controllers/events.recorder';
import type { ClusterRegistry } from './cluster.registry';

export interface PullNeed {
  node: Node;
  /** The image as the first replica or service names it. */
  image: string;
  /** Who waits for it: the replicas bound there, or the services pre-pulling it. */
  waiting: EventRecord['object'][];
}

/** Per node and image: the bound replicas, and the services pre-pulling to nodes open to new replicas, whose node lacks the image. */
export function pullsNeeded(replicas: readonly Replica[], nodes: readonly Node[], services: readonly Service[] = []): PullNeed[] {
  const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const needs = new Map<string, PullNeed>();
  const need = (node: Node, image: string, object: EventRecord['object']) => {
    const wanted = normalizeImageReference(image);
    if ((node.status?.images ?? []).some((have) => normalizeImageReference(have) === wanted)) return;
    const key = `${node.metadata.name}\0${wanted}`;
    const entry = needs.get(key) ?? { node, image, waiting: [] };
    entry.waiting.push(object);
    needs.set(key, entry);
  };
  for (const replica of replicas) {
    const node = replica.spec.nodeName ? byName.get(replica.spec.nodeName) : undefined;
    if (!node || !node.status?.ready || replica.metadata.deletionTimestamp) continue;
    need(node, replica.spec.template.image, { kind: 'Replica', namespace: replica.metadata.namespace, name: replica.metadata.name });
  }
  const open = nodes.filter((n) => n.status?.ready && !n.spec.cordoned && !n.spec.drain);
  for (const service of services) {
    if (service.metadata.deletionTimestamp || !(service.spec.replicas > 0)) continue;
    for (const node of open) need(node, service.spec.image, { kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name });
  }
  return [...needs.values()];
}

const RETRY_MS = { initial: 10_000, max: 5 * 60_000 };
/** After a pull, the node's next heartbeat carries the image; until then the same pull is not asked again. */
const REPORT_GRACE_MS = 30_000;
const PULL_TIMEOUT_MS = 15 * 60_000;

interface Attempt {
  until: number;
  failures: number;
}

export class ImagePuller {
  private readonly inflight = new Set<string>();
  private readonly attempts = new Map<string, Attempt>();

  constructor(
    private readonly cache: ClusterCache,
    private readonly registry: ClusterRegistry,
    private readonly events: EventRecorder,
    /** The control plane's client certificate for agents (renewed in place). */
    private readonly credentials: () => AgentCredentials,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the pulls that are due and returns at once; the pulls report through events. */
  async sync(): Promise<void> {
    if (!this.registry.issuesTokens()) return;
    const needs = pullsNeeded(this.cache.list('Replica'), this.cache.list('Node'), this.cache.list('Service'));
    const starting = new Map<string, { key: string; need: PullNeed; plan: PullPlan }[]>();
    for (const need of needs) {
      const image = normalizeImageReference(need.image);
      const key = `${need.node.metadata.name}\0${image}`;
      if (this.inflight.has(key) || (this.attempts.get(key)?.until ?? 0) > this.now()) continue;
      let plan;
      try {
        plan = pullPlan(need.image, this.registry.info.address);
      } catch {
        continue; // not a reference the registry knows (validation refuses these anyway)
      }
      if (!plan.cluster) continue;
      starting.set(image, [...(starting.get(image) ?? []), { key, need, plan }]);
    }
    for (const pulls of starting.values()) {
      const peers = pulls.length < 2 ? undefined : peersOf(pulls.map((p) => agentOf(p.need.node, this.credentials())).sort((a, b) => a.node.localeCompare(b.node)));
      for (const { key, need, plan } of pulls) {
        this.inflight.add(key);
        void this.pull(key, need, plan, peers).finally(() => this.inflight.delete(key));
      }
    }
  }

  private async pull(key: string, need: PullNeed, plan: PullPlan, peers: { node: string; address: string }[] | undefined): Promise<void> {
    const where = `${need.image} on ${need.node.metadata.name}`;
    await this.announce(need, 'Normal', 'Pulling', `pulling image ${need.image} from ${this.registry.info.address} on ${need.node.metadata.name}`);
    const token = this.registry.issueToken({ kind: 'control-plane' }, [{ type: 'repository', name: plan.repository, actions: ['pull'] }]).token;
    const ca = this.registry.caPem();
    const body = { registry: { address: plan.registry, token, ...(ca ? { ca } : {}) }, repository: plan.repository, reference: plan.reference, ref: plan.storeRef, ...(peers ? { peers } : {}) };
    const began = this.now();
    try {
      const pulled = await agentJson<{ digest: string; fetchedLayers: number; fromPeers?: number }>(agentOf(need.node, this.credentials()), 'POST', '/v1/images/pull', {
        body: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' }, idleTimeoutMs: PULL_TIMEOUT_MS,
      });
      this.attempts.set(key, { until: this.now() + REPORT_GRACE_MS, failures: 0 });
      await this.announce(need, 'Normal', 'Pulled', `pulled image ${need.image} (${pulled.digest}, ${pulled.fetchedLayers} layer(s) fetched${pulled.fromPeers ? `, ${pulled.fromPeers} from peers` : ''}) on ${need.node.metadata.name} in ${((this.now() - began) / 1000).toFixed(1)} s`);
    } catch (error) {
      const failures = (this.attempts.get(key)?.failures ?? 0) + 1;
      const delay = Math.min(RETRY_MS.max, RETRY_MS.initial * 2 ** (failures - 1));
      this.attempts.set(key, { until: this.now() + delay, failures });
      await this.announce(need, 'Warning', 'ErrImagePull', `${where}: ${(error as Error).message} (trying again in ${delay / 1000} s)`);
    }
  }

  private async announce(need: PullNeed, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.events.recordAll(need.waiting.map((object) => ({ object, type, reason, message })));
  }
}
