/**
 * The node's load balancer: one listener on the node's address per published port, HTTP or TCP as
 * the port says. Applying a plan opens the ports that appeared, closes those that went (their
 * connections finish the exchange in flight) and hands every port its current backends in place
 * (backends that stay keep their pools and counts). A port that cannot be opened (in use) is
 * reported and tried again at the next apply.
 */
import * as net from 'node:net';
import { Target } from './backend.set';
import { BalancerMetrics } from './balancer.metrics';
import { HttpPort } from './http.port';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from './published.port';
import { PortHandover } from './port.handover';
import { TcpPort } from './tcp.port';

export type Protocol = 'HTTP' | 'TCP';

export interface PortPlan {
  /** "namespace/name" */
  service: string;
  protocol: Protocol;
  targets: Target[];
}

interface Listener {
  server: net.Server;
  plan: PortPlan;
  port: HttpPort | TcpPort;
  failed: boolean;
}

export class LoadBalancer {
  private readonly listeners = new Map<number, Listener>();

  constructor(
    private readonly address: string,
    private readonly metrics: BalancerMetrics,
    private readonly log: (line: string) => void = () => undefined,
    private readonly options: ProxyOptions = DEFAULT_PROXY_OPTIONS,
    /** Hands the listening sockets to the node's reaper and takes them back after a restart. */
    private readonly handover?: PortHandover,
  ) {}

  /** The ports listened on now. */
  ports(): number[] {
    return [...this.listeners].filter(([, l]) => !l.failed).map(([port]) => port).sort((a, b) => a - b);
  }

  async apply(plan: Map<number, PortPlan>): Promise<void> {
    await this.handover?.ready();
    for (const [number, listener] of this.listeners) {
      const next = plan.get(number);
      if (next && !listener.failed && next.protocol === listener.plan.protocol && next.service === listener.plan.service) continue;
      this.stop(number, listener);
      if (!next) this.handover?.unpublished(number);
    }
    for (const [number, portPlan] of plan) {
      // A restarted agent counts its own replicas ready only once their probes passed again: until a
      // port has a target, the reaper, which still serves it over the last endpoints, keeps it.
      if (!this.listeners.has(number) && portPlan.targets.length === 0 && this.handover?.holds(number, this.address)) continue;
      const listener = this.listeners.get(number) ?? await this.listen(number, portPlan);
      listener.plan = portPlan;
      listener.port.backends.update(portPlan.targets);
    }
    this.handover?.settle(plan);
  }

  /** Stops listening; the node's reaper keeps its copies of the sockets and serves them until the next agent. */
  async close(): Promise<void> {
    for (const [number, listener] of this.listeners) this.stop(number, listener);
  }

  private stop(number: number, listener: Listener): void {
    this.listeners.delete(number);
    listener.port.close();
    // Stops listening at once; the callback would wait for every connection, TCP ones included.
    listener.server.close();
    if (!listener.failed) this.log(`stopped publishing port ${number} (${listener.plan.service})`);
  }

  private async listen(number: number, plan: PortPlan): Promise<Listener> {
    const traffic = this.metrics.service(plan.service);
    const port = plan.protocol === 'HTTP'
      ? new HttpPort(plan.service, traffic, this.options, this.log)
      : new TcpPort(plan.service, traffic, this.options, this.log);
    // Half-open: a client that shuts down its sending side still gets the whole answer.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => port.accept(socket));
    const listener: Listener = { server, plan, port, failed: false };
    this.listeners.set(number, listener);
    await new Promise<void>((resolve) => {
      server.once('error', (error) => {
        listener.failed = true;
        this.log(`cannot publish port ${number} for ${plan.service} on ${this.address}: ${error.message}`);
        resolve();
      });
      const listening = () => {
        this.handover?.published(number, this.address, server);
        this.log(`publishing ${this.address}:${number} for ${plan.service} (${plan.protocol})${adopted ? ', on the socket the reaper held' : ''}`);
        resolve();
      };
      // A socket the reaper held through a restart is listened on as it is: it never closed.
      const adopted = this.handover?.take(number, this.address);
      if (adopted) server.listen(adopted as never, listening);
      else server.listen(number, this.address, listening);
    });
    return listener;
  }
}
