/**
 * Pushes the published ports' ready endpoints to every agent's WatchEndpoints stream. The set is
 * the same for every node, so it is computed once per burst of changes (Service, Replica or Node
 * watch events, 20 ms apart at most) and written only when it changed; a new stream gets the
 * current set at once. Endpoint changes thus reach every node well within a second.
 */
import { Logger } from '@nestjs/common';
import { Node, PublishedEndpoints, Replica, Service, canonicalJson } from '@tide/api';
import { publishedPorts } from '@tide/control';
import { ObjectStore, Watcher } from '@tide/store';
import { AgentStream } from '../agent-service/agent.stream';

type Stream = AgentStream<PublishedEndpoints>;

const BURST_MS = 20;

export class EndpointsPublisher {
  private readonly logger = new Logger('Endpoints');
  private readonly streams = new Set<Stream>();
  private readonly watchers: Watcher[] = [];
  private current?: PublishedEndpoints;
  private text = '';
  private timer?: NodeJS.Timeout;
  private computing: Promise<void> = Promise.resolve();

  constructor(private readonly store: ObjectStore) {}

  async start(): Promise<void> {
    for (const kind of ['Service', 'Replica', 'Node'] as const) this.watchers.push(await this.store.watch(kind, () => this.scheduleRefresh()));
    this.scheduleRefresh();
  }

  /** A WatchEndpoints call: the current set now (when known), every change after. */
  watch(stream: Stream): void {
    this.streams.add(stream);
    const forget = () => this.streams.delete(stream);
    stream.on('cancelled', forget);
    stream.on('close', forget);
    if (this.current) stream.write(this.current);
    else this.scheduleRefresh();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) await watcher.cancel().catch(() => undefined);
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  private scheduleRefresh(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // One computation at a time, in order: a slow read never overwrites a newer set.
      this.computing = this.computing.then(() => this.refresh()).catch((error: Error) => {
        this.logger.warn(`cannot compute the endpoints: ${error.message}; retrying`);
        setTimeout(() => this.scheduleRefresh(), 500);
      });
    }, BURST_MS);
  }

  private async refresh(): Promise<void> {
    const [services, replicas, nodes] = await Promise.all([
      this.store.list<Service>('Service'), this.store.list<Replica>('Replica'), this.store.list<Node>('Node'),
    ]);
    const ports = publishedPorts(services.items, replicas.items, nodes.items);
    const text = canonicalJson(ports);
    if (text === this.text && this.current) return;
    this.text = text;
    this.current = { ports, revision: Math.max(Number(services.revision), Number(replicas.revision), Number(nodes.revision)) };
    for (const stream of this.streams) stream.write(this.current);
  }
}
