/**
 * Ahead of the peak, the warm pools (issue 18): the replicas a scheduled floor (or, in predictive
 * mode, the forecast) will add within the lead start warm. Each pass (leader only), for every
 * autoscaled Service that will want more replicas within the lead than it has (`wantedAhead`), the
 * scheduler's what-if over the Ready nodes says how many of them each node will start
 * (`startsAhead`), and that node's agent is asked to boot as many container inits of the service's
 * network mode (`POST /v1/warm`, libs/runtime `WarmPool.expect`). Once per service, node and count
 * for the lead: a pass that finds the same need asks nothing again. The image is the image puller's:
 * it pre-pulls a service's image to every open node, those the node autoscaler made ahead included,
 * as soon as they are Ready. A node that cannot be reached is left out (its replicas start cold);
 * the event says so.
 */
import { Node, Replica, Service } from '@tide/api';
import { expectedReplicas, nodeInfos, startsAhead, wantedAhead } from '@tide/control';
import type { ClusterCache } from '@tide/store';
import { AgentCredentials, agentJson, agentOf } from '../api/agent.client';
import type { EventRecorder } from './events.recorder';
import type { ForecastReplicas } from './node-autoscaler.controller';

export interface WarmRequest {
  service: Service;
  node: Node;
  network: 'bridge' | 'host';
  starts: number;
  why: string;
}

/** What each node should boot ahead, pure: the services' replicas expected within `leadMs`, placed by the scheduler's what-if. */
export function warmPlan(services: readonly Service[], nodes: readonly Node[], replicas: readonly Replica[], nowMs: number, leadMs: number,
  forecast: ForecastReplicas = () => undefined): WarmRequest[] {
  const ready = nodes.filter((n) => n.status?.ready && !n.spec.cordoned && !n.spec.drain);
  const byName = new Map(ready.map((n) => [n.metadata.name, n]));
  const live = replicas.filter((r) => !r.metadata.deletionTimestamp);
  const out: WarmRequest[] = [];
  for (const service of services) {
    if (!service.spec.autoscale || service.metadata.deletionTimestamp) continue;
    const have = live.filter((r) => r.metadata.namespace === service.metadata.namespace && r.spec.service === service.metadata.name).length;
    const wanted = wantedAhead(service, nowMs, leadMs, forecast(service, leadMs));
    if (wanted.replicas <= have || !wanted.why) continue;
    const starts = startsAhead(nodeInfos(ready, live), expectedReplicas(service, wanted.replicas - have));
    for (const [name, count] of starts) {
      out.push({ service, node: byName.get(name)!, network: service.spec.network ?? 'bridge', starts: count, why: wanted.why });
    }
  }
  return out;
}

/** The agent answers at once (the pool fills in the background). */
const WARM_TIMEOUT_MS = 10_000;

export type WarmPost = (node: Node, body: { network: string; starts: number }) => Promise<void>;

export class WarmAheadController {
  /** What was asked of each node for each service, and until when it stands. */
  private readonly asked = new Map<string, { starts: number; until: number }>();

  constructor(
    private readonly cache: Pick<ClusterCache, 'list'>,
    private readonly events: Pick<EventRecorder, 'record'>,
    private readonly leadMs: number,
    private readonly post: WarmPost,
    private readonly forecast: ForecastReplicas = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async sync(): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.asked) if (entry.until <= now) this.asked.delete(key);
    const plan = warmPlan(this.cache.list('Service'), this.cache.list('Node'), this.cache.list('Replica'), now, this.leadMs, this.forecast);
    await Promise.all(plan.map((request) => this.ask(request, now)));
  }

  private async ask(request: WarmRequest, now: number): Promise<void> {
    const { service, node, starts } = request;
    const key = `${service.metadata.namespace}/${service.metadata.name}\0${node.metadata.name}`;
    if ((this.asked.get(key)?.starts ?? 0) >= starts) return;
    this.asked.set(key, { starts, until: now + this.leadMs });
    const object = { kind: 'Service' as const, namespace: service.metadata.namespace, name: service.metadata.name };
    try {
      await this.post(node, { network: request.network, starts });
      await this.events.record(object, 'Normal', 'WarmingAhead',
        `${starts} replica(s) expected on ${node.metadata.name} within ${this.leadMs / 1000} s (${request.why}): its warm pool boots ${starts} init(s) now`);
    } catch (error) {
      await this.events.record(object, 'Warning', 'WarmingAheadFailed',
        `${node.metadata.name}: ${(error as Error).message}: its ${starts} replica(s) expected within ${this.leadMs / 1000} s start cold`);
    }
  }
}

/** Posts to the node's agent with the control plane's client certificate. */
export function agentWarmPost(credentials: () => AgentCredentials): WarmPost {
  return async (node, body) => {
    await agentJson(agentOf(node, credentials()), 'POST', '/v1/warm', {
      body: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' }, idleTimeoutMs: WARM_TIMEOUT_MS,
    });
  };
}
