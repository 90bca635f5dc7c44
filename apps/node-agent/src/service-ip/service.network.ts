/**
 * A node's share of service addresses and names: the balancer's listeners for the services' virtual
 * IPs (in the node's balancer process, which outlives the agent: balancer/), the kernel rules that
 * bring their traffic to them (service-ip.rules.ts), and the DNS server its bridge containers use. It follows what the control plane pushes (the services with their IPs and ready
 * endpoints); it starts serving once the node has its bridge (after registration), on the bridge's
 * address, the containers' gateway.
 */
import { ServiceAddress } from '@tide/api';
import { BridgeSettings } from '@tide/runtime';
import { NodeDns } from '../dns/dns.server';
import { ContainerDns, Upstream, containerDns } from '../dns/resolv.conf';
import { LocalReplicas } from '../proxy/publish.plan';
import type { VirtualRoute } from './service-ip.balancer';
import { VirtualListenerPlan, planServiceIps } from './service-ip.plan';
import { ServiceIpRules } from './service-ip.rules';

/** Where the service IP listeners are (BalancerClient.serviceIps): answers where each (IP, port) is served. */
export interface ServiceIpListeners {
  apply(address: string, plans: Map<string, VirtualListenerPlan>): Promise<VirtualRoute[]>;
}

export interface ServiceNetworkOptions {
  stateDir: string;
  upstreams: Upstream[];
  listeners: ServiceIpListeners;
  log: (line: string) => void;
  /** The DNS server's port on the bridge address (53; tests may move it). */
  dnsPort?: number;
}

export class ServiceNetwork {
  private readonly dns: NodeDns;
  private readonly rules: ServiceIpRules;
  private bridge?: BridgeSettings;
  private serviceCidr?: string;
  private services: ServiceAddress[] = [];
  private chain: Promise<void> = Promise.resolve();
  private lastProblem = '';

  constructor(private readonly options: ServiceNetworkOptions) {
    this.dns = new NodeDns({ upstreams: options.upstreams, log: options.log });
    this.rules = new ServiceIpRules(options.stateDir);
  }

  /** After each registration, once the bridge is up (undefined: it is not). */
  configure(bridge: BridgeSettings | undefined, serviceCidr: string | undefined): void {
    this.bridge = bridge;
    this.serviceCidr = serviceCidr;
    this.rules.forget();
  }

  /** What a bridge container of `namespace` is told to use; undefined until the DNS server listens. */
  containerDns(namespace: string): ContainerDns | undefined {
    return this.dns.address() && this.bridge ? containerDns(this.bridge.gateway, namespace) : undefined;
  }

  /** With every push of the endpoints (services undefined: keep the last) and every local readiness change. */
  sync(services: ServiceAddress[] | undefined, local: LocalReplicas): Promise<void> {
    if (services) this.services = services;
    this.chain = this.chain.then(() => this.apply(local)).catch((error: Error) => this.warn(`service IPs: ${error.message}`));
    return this.chain;
  }

  private async apply(local: LocalReplicas): Promise<void> {
    this.dns.setServices(this.services);
    const bridge = this.bridge;
    if (!bridge) return;
    await this.dns.listen(bridge.gateway, this.options.dnsPort ?? 53).catch((error: Error) => this.warn(`cannot serve DNS on ${bridge.gateway}: ${error.message}`));
    if (!this.serviceCidr) return this.warn('the control plane gave no service range (is it older than service IPs?)');
    const routes = await this.options.listeners.apply(bridge.gateway, planServiceIps(this.services, local));
    await this.rules.sync(bridge.bridge, bridge.gateway, this.serviceCidr, routes);
    this.lastProblem = '';
  }

  private warn(problem: string): void {
    if (problem !== this.lastProblem) this.options.log(`warning: ${problem}`);
    this.lastProblem = problem;
  }

  /** The DNS server goes; the listeners (the balancer process's) and the kernel rules stay until `node-agent cleanup` (containers outlive the agent). */
  async close(): Promise<void> {
    await this.dns.close();
  }
}
