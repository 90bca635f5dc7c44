/**
 * The node's load balancer: one listener on the node's address per published port, HTTP or TCP as
 * the port says. Applying a plan opens the ports that appeared, closes those that went (their
 * connections finish the exchange in flight) and hands every port its current backends in place
 * (backends that stay keep their pools and counts). A port that cannot be opened (in use) is
 * reported and tried again at the next apply. It runs in the node's balancer process
 * (balancer/balancer.process.ts), which outlives the agent; the agent configures it over a channel.
 */
import * as net from 'node:net';
import { Target } from './backend.set';
import { BalancerMetrics } from './balancer.metrics';
import { HttpPort } from './http.port';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from './published.port';
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
  ) {}

  /** The ports listened on now. */
  ports(): number[] {
    return [...this.listeners].filter(([, l]) => !l.failed).map(([port]) => port).sort((a, b) => a - b);
  }

  async apply(plan: Map<number, PortPlan>): Promise<void> {
    for (const [number, listener] of this.listeners) {
      const next = plan.get(number);
      if (next && !listener.failed && next.protocol === listener.plan.protocol && next.service === listener.plan.service) continue;
      this.stop(number, listener);
    }
    for (const [number, portPlan] of plan) {
      const listener = this.listeners.get(number) ?? await this.listen(number, portPlan);
      listener.plan = portPlan;
      listener.port.backends.update(portPlan.targets);
    }
  }

  /** Stops listening; exchanges in flight finish. */
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
      server.listen(number, this.address, () => {
        this.log(`publishing ${this.address}:${number} for ${plan.service} (${plan.protocol})`);
        resolve();
      });
    });
    return listener;
  }
}
