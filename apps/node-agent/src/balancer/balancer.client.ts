/**
 * The agent's side of the channel to the node's balancer process (balancer.protocol.ts). The agent
 * keeps its desired config here (published ports, service IP listeners) and sends it whole: at every
 * change, and again each time it (re)connects, so a balancer that was restarted, or an agent that
 * was, converges with no other state. While the balancer cannot be reached the agent runs on; the
 * config goes at the next connect.
 */
import * as net from 'node:net';
import type { RemoteTraffic, TrafficSnapshot } from '../proxy/balancer.metrics';
import type { PortPlan } from '../proxy/load.balancer';
import type { ProxyOptions } from '../proxy/published.port';
import type { VirtualRoute } from '../service-ip/service-ip.balancer';
import type { VirtualListenerPlan } from '../service-ip/service-ip.plan';
import { BalancerAnswer, BalancerConfig, BalancerRequest, balancerSocketPath, readLines } from './balancer.protocol';

/** Between connection attempts: the balancer starts beside the agent, or is restarted by the reaper after a crash. */
const RECONNECT_MS = 250;
/** A config not applied within this time is reported; the next change or reconnect sends it again. */
const CONFIGURE_TIMEOUT_MS = 10_000;
/** Counts not answered within this time: the last ones serve (a scrape must not hang on the balancer). */
const TRAFFIC_TIMEOUT_MS = 1000;
/**
 * For this long after the agent started, a port (or service IP listener) it gives no target keeps the
 * targets the balancer has (the last agent's, or the last this agent gave). A restarted agent counts
 * its adopted replicas ready only after their first probe, and its first status report says so: the
 * control plane then pushes a set without them, and lists them again only after the next report.
 * Without this, a node whose replicas serve a port alone would empty it for that second or two. When
 * the time is up the config is sent again without the inheritance, so what is empty by then is.
 */
export const INHERIT_TARGETS_MS = 15_000;

export interface BalancerClientOptions {
  stateDir: string;
  /** The node's address: every published port listens on it. */
  address: string;
  proxy: ProxyOptions;
  log: (line: string) => void;
  /** INHERIT_TARGETS_MS unless a test says otherwise. */
  inheritTargetsMs?: number;
  /**
   * The channel is open (again): a restarted balancer listens for the service IPs at other ports, and
   * a sync that found no balancer is owed, so the agent syncs its listeners and rules again.
   */
  onConnected?: () => void;
}

/** A request before its id is given (Omit applied to each member of the union). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = WithoutId<BalancerRequest>;

export class BalancerClient implements RemoteTraffic {
  private socket?: net.Socket;
  private connected = false;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, (answer: BalancerAnswer | undefined) => void>();
  private desired: BalancerConfig;
  private lastTraffic: TrafficSnapshot[] = [];
  private reconnectTimer?: NodeJS.Timeout;
  /** Set while empty targets inherit (INHERIT_TARGETS_MS). */
  private settlingTimer?: NodeJS.Timeout;
  private unreachable = '';

  constructor(private readonly options: BalancerClientOptions) {
    this.desired = { address: options.address, options: options.proxy };
  }

  start(): void {
    this.settlingTimer = setTimeout(() => this.settled(), this.options.inheritTargetsMs ?? INHERIT_TARGETS_MS);
    this.settlingTimer.unref();
    this.connect();
  }

  /**
   * The published ports as the agent wants them now. Resolves once the balancer applied them, or at
   * once while it cannot be reached (they are sent when it can).
   */
  async publish(plan: Map<number, PortPlan>): Promise<void> {
    const ports = [...plan].map(([port, { service, protocol, targets }]) => ({ port, service, protocol, targets, ...this.inherits(targets) }));
    this.desired = { ...this.desired, ports };
    if (this.connected) await this.sendConfig();
  }

  /**
   * The service IP listeners as the agent wants them now, on the bridge address; answers where each
   * is served. Throws when the balancer cannot be reached or refuses: the rules stay as they are.
   */
  async serviceIps(address: string, plans: Map<string, VirtualListenerPlan>): Promise<VirtualRoute[]> {
    const listeners = [...plans.values()].map((plan) => ({ ...plan, ...this.inherits(plan.targets) }));
    this.desired = { ...this.desired, serviceIps: { address, listeners } };
    const answer = this.connected ? await this.sendConfig() : undefined;
    if (!answer?.routes) throw new Error(`the node's balancer did not apply the service IP listeners${answer?.error ? `: ${answer.error}` : ' (not reachable)'}; the rules stay as they are`);
    return answer.routes;
  }

  /** `inheritTargets` for a port or listener without a target while the agent settles. */
  private inherits(targets: unknown[]): { inheritTargets?: true } {
    return targets.length === 0 && this.settlingTimer ? { inheritTargets: true } : {};
  }

  /** The settling time is up: the config again, without inheritance. */
  private settled(): void {
    this.settlingTimer = undefined;
    const { ports, serviceIps } = this.desired;
    const inherited = [...ports ?? [], ...serviceIps?.listeners ?? []].some((item) => item.inheritTargets);
    if (!inherited) return;
    const plain = <T extends { inheritTargets?: boolean }>(item: T): T => ({ ...item, inheritTargets: undefined });
    this.desired = {
      ...this.desired,
      ...(ports ? { ports: ports.map(plain) } : {}),
      ...(serviceIps ? { serviceIps: { ...serviceIps, listeners: serviceIps.listeners.map(plain) } } : {}),
    };
    if (this.connected) void this.sendConfig();
  }

  /** The balancer's counts; its last known ones when it does not answer (so counters never seem to reset). */
  async traffic(): Promise<TrafficSnapshot[]> {
    const answer = this.connected ? await this.request({ kind: 'traffic' }, TRAFFIC_TIMEOUT_MS) : undefined;
    if (answer?.traffic) this.lastTraffic = answer.traffic;
    return this.lastTraffic;
  }

  /** Whether the channel to the balancer is open now. */
  isConnected(): boolean {
    return this.connected;
  }

  /** Disconnects; the balancer keeps serving the last config. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.settlingTimer);
    this.socket?.end();
  }

  private connect(): void {
    const file = balancerSocketPath(this.options.stateDir);
    const socket = net.connect(file);
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      if (this.unreachable) this.options.log(`connected to the node's balancer (${file})`);
      this.unreachable = '';
      if (this.desired.ports || this.desired.serviceIps) void this.sendConfig();
      this.options.onConnected?.();
    });
    readLines(socket, (line) => {
      let answer: BalancerAnswer;
      try {
        answer = JSON.parse(line) as BalancerAnswer;
      } catch {
        return this.options.log(`warning: the node's balancer answered a line that is not JSON: ${line.slice(0, 200)}`);
      }
      this.pending.get(answer.id)?.(answer);
    });
    socket.on('error', (error: Error) => {
      const problem = `cannot reach the node's balancer at ${file} (${error.message}): trying again; it keeps serving its last config meanwhile`;
      if (problem !== this.unreachable) this.options.log(`warning: ${problem}`);
      this.unreachable = problem;
    });
    socket.on('close', () => {
      this.connected = false;
      this.socket = undefined;
      for (const settle of this.pending.values()) settle(undefined);
      if (!this.closed) this.reconnectTimer = setTimeout(() => this.connect(), RECONNECT_MS);
    });
  }

  /** Sends the whole desired config; its answer, undefined when none came. */
  private async sendConfig(): Promise<BalancerAnswer | undefined> {
    const answer = await this.request({ kind: 'configure', config: this.desired }, CONFIGURE_TIMEOUT_MS);
    if (answer?.error) this.options.log(`warning: the node's balancer refused the config: ${answer.error}`);
    else if (!answer && this.connected) this.options.log(`warning: the node's balancer did not apply the config within ${CONFIGURE_TIMEOUT_MS} ms`);
    return answer;
  }

  /** Sends a request; undefined when the connection closes or no answer comes within `timeoutMs`. */
  private request(body: Request, timeoutMs: number): Promise<BalancerAnswer | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const settle = (answer: BalancerAnswer | undefined) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answer);
      };
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      this.pending.set(id, settle);
      this.socket?.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }
}

/**
 * Asks the node's balancer to close its ports and exit (`node-agent cleanup`): true once it answered,
 * false when none runs. It exits right after answering; the reaper does not start it again.
 */
export function shutDownBalancer(stateDir: string, timeoutMs = 5000): Promise<boolean> {
  const file = balancerSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const socket = net.connect(file);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the node's balancer (${file}) did not answer a shutdown within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, kind: 'shutdown' } satisfies BalancerRequest)}\n`));
    readLines(socket, () => {
      clearTimeout(timer);
      socket.end();
      resolve(true);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // No balancer: its socket file is gone, or left by one that died and nobody listens.
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(false);
      else reject(new Error(`cannot reach the node's balancer at ${file}: ${error.message}`));
    });
  });
}
