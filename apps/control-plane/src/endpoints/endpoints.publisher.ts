/**
 * Pushes the published ports' ready endpoints, and every service's virtual IP with its ports' ready
 * endpoints (for the nodes' service IPs and DNS), to every agent's WatchEndpoints stream. The set is
 * the same for every node, so it is computed once per burst of changes (20 ms) and written only
 * when it changed; a new stream gets the current set at once. Endpoint changes thus reach every
 * node well within a second. It reads the control plane's cache, and only the changes that can
 * move an endpoint start a computation: a Service, a Replica with a port, or a Node (ready,
 * address). Replicas without ports cost nothing here, however many.
 */
import { Logger } from '@nestjs/common';
import { PublishedEndpoints, Replica, Service, canonicalJson } from '@tide/api';
import { publishedPorts, serviceAddresses } from '@tide/control';
import { CacheChange, ClusterCache } from '@tide/store';
import { AgentStream } from '../agent-service/agent.stream';

type Stream = AgentStream<PublishedEndpoints>;

const BURST_MS = 20;

export class EndpointsPublisher {
  private readonly logger = new Logger('Endpoints');
  private readonly streams = new Set<Stream>();
  /** Streams that joined while a computation was due: they get its result, not the set it replaces. */
  private readonly waiting = new Set<Stream>();
  private unsubscribe?: () => void;
  private current?: PublishedEndpoints;
  private text = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly cache: ClusterCache) {}

  async start(): Promise<void> {
    this.unsubscribe = this.cache.onChange((change) => {
      if (concernsEndpoints(change)) this.scheduleRefresh();
    });
    this.scheduleRefresh();
  }

  /** A WatchEndpoints call: the current set now (when known and no change is pending), every change after. */
  watch(stream: Stream): void {
    this.streams.add(stream);
    const forget = () => {
      this.streams.delete(stream);
      this.waiting.delete(stream);
    };
    stream.on('cancelled', forget);
    stream.on('close', forget);
    if (this.current && !this.timer) return void stream.write(this.current);
    this.waiting.add(stream);
    this.scheduleRefresh();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.unsubscribe?.();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    this.waiting.clear();
  }

  private scheduleRefresh(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.refresh();
      } catch (error) {
        this.logger.warn(`cannot compute the endpoints: ${(error as Error).message}; retrying`);
        setTimeout(() => this.scheduleRefresh(), 500);
      }
    }, BURST_MS);
  }

  /** Only the replicas of services with ports are read: the cost follows what is served. */
  private refresh(): void {
    const all = this.cache.list('Service');
    const withPorts = all.filter(hasPorts);
    const replicas = withPorts.flatMap((s) => this.cache.replicasOf(s.metadata.namespace, s.metadata.name));
    const nodes = this.cache.list('Node');
    const ports = publishedPorts(withPorts.filter(publishes), replicas, nodes);
    const services = serviceAddresses(all, replicas, nodes);
    const text = canonicalJson({ ports, services });
    const changed = text !== this.text || !this.current;
    if (changed) {
      this.text = text;
      this.current = { ports, services, revision: this.cache.revision };
    }
    for (const stream of changed ? this.streams : this.waiting) stream.write(this.current!);
    this.waiting.clear();
  }
}

function publishes(service: Service | undefined): boolean {
  return service?.spec.ports?.some((p) => p.publish) ?? false;
}

function hasPorts(service: Service): boolean {
  return (service.spec.ports?.length ?? 0) > 0;
}

function templateHasPorts(replica: Replica | undefined): boolean {
  return (replica?.spec.template.ports?.length ?? 0) > 0;
}

function concernsEndpoints(change: CacheChange): boolean {
  switch (change.kind) {
    // Every Service: its address and name are served whether or not it has ports.
    case 'Service': return true;
    case 'Replica': return templateHasPorts(change.previous) || templateHasPorts(change.current);
    case 'Node': case 'resync': return true;
    default: return false;
  }
}
