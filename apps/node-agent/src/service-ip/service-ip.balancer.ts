/**
 * The node's balancer for the services' virtual IPs, in the node's balancer process (balancer/),
 * configured by the agent as the published ports are. Each (IP, port) gets a listener of its own on
 * the node's bridge address at a port the kernel picks; iptables (service-ip.rules.ts) sends the
 * virtual IP's traffic there. Listeners are HTTP or TCP as the port says, with the same code as the
 * published ports (HttpPort, TcpPort): backends are updated in place, a removed listener's
 * exchanges in flight finish.
 */
import * as net from 'node:net';
import { BalancerMetrics } from '../proxy/balancer.metrics';
import { HttpPort } from '../proxy/http.port';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from '../proxy/published.port';
import { TcpPort } from '../proxy/tcp.port';
import { VirtualListenerPlan } from './service-ip.plan';

interface Listener {
  server: net.Server;
  plan: VirtualListenerPlan;
  port: HttpPort | TcpPort;
  /** The port the kernel gave on the bridge address. */
  localPort: number;
}

/** Where a virtual (IP, port) is served on this node. */
export interface VirtualRoute {
  ip: string;
  port: number;
  localPort: number;
}

export class ServiceIpBalancer {
  private readonly listeners = new Map<string, Listener>();
  private address = '';

  constructor(
    private readonly metrics: BalancerMetrics,
    private readonly log: (line: string) => void = () => undefined,
    private readonly options: ProxyOptions = DEFAULT_PROXY_OPTIONS,
  ) {}

  /** Listens for every planned (IP, port) on `address` (the bridge's); answers where each is served. */
  async apply(address: string, plans: Map<string, VirtualListenerPlan>): Promise<VirtualRoute[]> {
    if (address !== this.address) {
      for (const [key, listener] of this.listeners) this.stop(key, listener);
      this.address = address;
    }
    for (const [key, listener] of this.listeners) {
      const next = plans.get(key);
      if (next && next.protocol === listener.plan.protocol && next.service === listener.plan.service) continue;
      this.stop(key, listener);
    }
    for (const [key, plan] of plans) {
      const listener = this.listeners.get(key) ?? await this.listen(key, plan).catch((error: Error) => {
        this.log(`cannot serve ${key} for ${plan.service} on ${address}: ${error.message}`);
        return undefined;
      });
      if (!listener) continue;
      listener.plan = plan;
      listener.port.backends.update(plan.targets);
    }
    return [...this.listeners.values()].map((l) => ({ ip: l.plan.ip, port: l.plan.port, localPort: l.localPort }));
  }

  async close(): Promise<void> {
    for (const [key, listener] of this.listeners) this.stop(key, listener);
  }

  private stop(key: string, listener: Listener): void {
    this.listeners.delete(key);
    listener.port.close();
    listener.server.close();
  }

  private async listen(key: string, plan: VirtualListenerPlan): Promise<Listener> {
    const traffic = this.metrics.service(plan.service);
    const port = plan.protocol === 'HTTP'
      ? new HttpPort(plan.service, traffic, this.options, this.log)
      : new TcpPort(plan.service, traffic, this.options, this.log);
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => port.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const listener: Listener = { server, plan, port, localPort: (server.address() as net.AddressInfo).port };
    this.listeners.set(key, listener);
    return listener;
  }
}
