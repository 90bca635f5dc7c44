/**
 * The balancer process's side of the channel (balancer.protocol.ts): applies the agent's configs to
 * the node's LoadBalancer (published ports) and ServiceIpBalancer (service IPs), and answers with
 * their counts. Between agents (one killed, the next not yet
 * connected) nothing changes: the ports keep listening over the last config's backends.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { BalancerMetrics } from '../proxy/balancer.metrics';
import { LoadBalancer } from '../proxy/load.balancer';
import { listenOwnerOnly } from '../reaper/reaper.control';
import { ServiceIpBalancer, VirtualRoute } from '../service-ip/service-ip.balancer';
import { virtualKey } from '../service-ip/service-ip.plan';
import {
  BalancerAnswer, BalancerConfig, BalancerConfigError, BalancerRequest, PublishedPortConfig, ServiceIpListenerConfig,
  balancerSocketPath, listenerPlans, parseBalancerConfig, portPlans, readLines, withInheritedTargets,
} from './balancer.protocol';

/** What a configure applied: the ports listened on, and where each service IP:port is served. */
export interface Applied {
  listening: number[];
  routes: VirtualRoute[];
}

export class BalancerService {
  readonly metrics = new BalancerMetrics();
  private published?: LoadBalancer;
  private serviceIps?: ServiceIpBalancer;
  /** The address and proxy settings the balancers were made with. */
  private madeWith = '';
  /** What was applied last, with the targets each inherited (what the next config may inherit). */
  private appliedPorts: PublishedPortConfig[] = [];
  private appliedListeners: ServiceIpListenerConfig[] = [];
  private routes: VirtualRoute[] = [];
  /** Configs are applied one at a time (an apply waits for its listens). */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: (line: string) => void) {}

  /** Applies a config; answers once it is applied. */
  configure(config: BalancerConfig): Promise<Applied> {
    const applied = this.applying.then(() => this.apply(config));
    this.applying = applied.catch(() => undefined);
    return applied;
  }

  /** The published ports listened on now. */
  ports(): number[] {
    return this.published?.ports() ?? [];
  }

  /** Stops listening; exchanges in flight finish. */
  async close(): Promise<void> {
    await this.applying;
    await this.closeBalancers();
  }

  private async apply(config: BalancerConfig): Promise<Applied> {
    const madeWith = JSON.stringify([config.address, config.options]);
    if (this.published && madeWith !== this.madeWith) {
      // Only an agent started with other flags does this: its ports are opened again with them.
      this.log('the agent\'s address or proxy settings changed: its ports are opened again with the new ones');
      await this.closeBalancers();
    }
    if (!this.published || !this.serviceIps) {
      this.published = new LoadBalancer(config.address, this.metrics, this.log, config.options);
      this.serviceIps = new ServiceIpBalancer(this.metrics, this.log, config.options);
      this.madeWith = madeWith;
    }
    if (config.ports) {
      this.appliedPorts = withInheritedTargets(config.ports, this.appliedPorts, (p) => String(p.port));
      await this.published.apply(portPlans(this.appliedPorts));
    }
    if (config.serviceIps) {
      this.appliedListeners = withInheritedTargets(config.serviceIps.listeners, this.appliedListeners, (l) => virtualKey(l.ip, l.port));
      this.routes = await this.serviceIps.apply(config.serviceIps.address, listenerPlans(this.appliedListeners));
    }
    return { listening: this.published.ports(), routes: this.routes };
  }

  private async closeBalancers(): Promise<void> {
    await this.published?.close();
    await this.serviceIps?.close();
    this.published = undefined;
    this.serviceIps = undefined;
    this.routes = [];
  }
}

export interface ChannelEvents {
  /** An agent connected, or the last one went (`agents`: how many are connected now). */
  agents?(agents: number): void;
  /** A `shutdown` request was answered. */
  shutdown?(): void;
  /** A configuration was applied: what it listens on now. */
  configured?(applied: Applied): void;
}

/** Serves the channel on `STATE/balancer.sock` (0600); a stale socket file (a dead balancer's) is replaced. */
export function serveBalancerChannel(stateDir: string, service: BalancerService, events: ChannelEvents = {}): net.Server {
  const file = balancerSocketPath(stateDir);
  fs.rmSync(file, { force: true });
  let agents = 0;
  const server = net.createServer((socket) => {
    events.agents?.(++agents);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => events.agents?.(--agents));
    readLines(socket, (line) => {
      const request = parseRequest(line);
      void answer(service, request).then((reply) => {
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
        if (request.kind === 'shutdown' && reply.error === undefined) events.shutdown?.();
        if (request.kind === 'configure' && reply.listening) events.configured?.({ listening: reply.listening, routes: reply.routes ?? [] });
      });
    });
  });
  listenOwnerOnly(server, file);
  return server;
}

/** A request line; one that does not parse is answered as an unknown kind. */
function parseRequest(line: string): BalancerRequest | { id: number; kind?: undefined } {
  try {
    const request = JSON.parse(line) as BalancerRequest;
    return typeof request === 'object' && request !== null ? request : { id: -1 };
  } catch {
    return { id: -1 };
  }
}

async function answer(service: BalancerService, request: BalancerRequest | { id: number; kind?: undefined }): Promise<BalancerAnswer> {
  const { id } = request;
  try {
    switch (request.kind) {
      case 'configure':
        return { id, ...await service.configure(parseBalancerConfig(request.config)) };
      case 'traffic':
        return { id, traffic: service.metrics.snapshots() };
      case 'shutdown':
        await service.close();
        return { id };
      default:
        return { id, error: `not a request: expected a JSON line with kind configure, traffic or shutdown, got kind ${JSON.stringify(request.kind)}` };
    }
  } catch (error) {
    if (error instanceof BalancerConfigError) return { id, error: error.message };
    return { id, error: `cannot apply the config: ${(error as Error).message}` };
  }
}
