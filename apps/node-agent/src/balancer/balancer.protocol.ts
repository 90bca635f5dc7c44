/**
 * The channel between the node agent and the node's balancer process (why a process of its own:
 * docs/ARCHITECTURE.md, "Published ports through an agent restart"): `STATE/balancer.sock`, a unix
 * socket made 0600 in the root-only state dir, so only root reaches it. One JSON object a line each
 * way; every request carries an id that its answer repeats.
 *
 * - `configure`: the whole desired config (listen address, proxy settings, every published port
 *   with its protocol and backends, every service IP:port with its backends). Idempotent: the agent
 *   sends it again after any reconnect, and the balancer changes only what differs
 *   (LoadBalancer.apply, ServiceIpBalancer.apply). Answered once applied, with where each service
 *   IP:port is served (the agent's iptables rules point there).
 * - `traffic`: the balancer's request counts per service (the agent's /metrics and usage reports).
 * - `shutdown`: stop listening and exit (`node-agent cleanup`, so `tsctl down`).
 */
import * as path from 'node:path';
import type { Target } from '../proxy/backend.set';
import type { TrafficSnapshot } from '../proxy/balancer.metrics';
import type { PortPlan, Protocol } from '../proxy/load.balancer';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from '../proxy/published.port';
import type { VirtualRoute } from '../service-ip/service-ip.balancer';
import { VirtualListenerPlan, virtualKey } from '../service-ip/service-ip.plan';

export const BALANCER_SOCKET = 'balancer.sock';

export function balancerSocketPath(stateDir: string): string {
  return path.join(stateDir, BALANCER_SOCKET);
}

export interface PublishedPortConfig {
  port: number;
  /** "namespace/name" */
  service: string;
  protocol: Protocol;
  targets: Target[];
  /**
   * An empty `targets` keeps the targets the balancer has for the port (the last agent's): sent by a
   * restarted agent for a port it has not given a target yet (balancer.client.ts, INHERIT_TARGETS_MS).
   */
  inheritTargets?: boolean;
}

/** A service IP:port's listener (on the bridge address, at a port the kernel picks). */
export type ServiceIpListenerConfig = VirtualListenerPlan & { inheritTargets?: boolean };

export interface ServiceIpsConfig {
  /** The node's bridge address (the containers' gateway), which every listener listens on. */
  address: string;
  listeners: ServiceIpListenerConfig[];
}

export interface BalancerConfig {
  /** The node's address, which every published port listens on. */
  address: string;
  options: ProxyOptions;
  /** Absent: the published ports stay as they are (an agent that has no endpoints yet). */
  ports?: PublishedPortConfig[];
  /** Absent: the service IP listeners stay as they are (an agent whose bridge is not up yet). */
  serviceIps?: ServiceIpsConfig;
}

export type BalancerRequest =
  | { id: number; kind: 'configure'; config: BalancerConfig }
  | { id: number; kind: 'traffic' }
  | { id: number; kind: 'shutdown' };

export interface BalancerAnswer {
  id: number;
  /** Why the request was refused (a config that does not parse names the field). */
  error?: string;
  /** configure: the ports listened on now (a port in use by another process is missing). */
  listening?: number[];
  /** configure: where each service IP:port is served now. */
  routes?: VirtualRoute[];
  traffic?: TrafficSnapshot[];
}

export class BalancerConfigError extends Error {
  override readonly name = 'BalancerConfigError';
}

/** Something with targets a restarted agent may let inherit (a published port, a service IP listener). */
interface Targeted {
  service: string;
  targets: Target[];
  inheritTargets?: boolean;
}

/**
 * `next` with each item that inherits, and has no target of its own, given the targets its
 * namesake (same key, same service) had in `previous` (what was applied last).
 */
export function withInheritedTargets<T extends Targeted>(next: T[], previous: T[], key: (item: T) => string): T[] {
  const before = new Map(previous.map((item) => [key(item), item]));
  return next.map((item) => {
    const was = before.get(key(item));
    return item.inheritTargets && item.targets.length === 0 && was?.service === item.service ? { ...item, targets: was.targets } : item;
  });
}

/** The published ports as LoadBalancer.apply takes them. */
export function portPlans(ports: PublishedPortConfig[]): Map<number, PortPlan> {
  return new Map(ports.map((p) => [p.port, { service: p.service, protocol: p.protocol, targets: p.targets }]));
}

/** The service IP listeners as ServiceIpBalancer.apply takes them. */
export function listenerPlans(listeners: ServiceIpListenerConfig[]): Map<string, VirtualListenerPlan> {
  return new Map(listeners.map(({ ip, port, service, protocol, targets }) => [virtualKey(ip, port), { ip, port, service, protocol, targets }]));
}

/**
 * Checks a config read off the channel; the error names the field. The channel is root's only, so
 * this guards against a mismatched agent version, not an attacker.
 */
export function parseBalancerConfig(value: unknown): BalancerConfig {
  const config = value as Partial<BalancerConfig> | undefined;
  if (typeof config?.address !== 'string' || config.address === '') throw new BalancerConfigError('config.address: expected the node\'s address');
  if (config.ports !== undefined) {
    if (!Array.isArray(config.ports)) throw new BalancerConfigError('config.ports: expected a list');
    config.ports.forEach((port, i) => checkTargeted(port, `config.ports[${i}]`));
  }
  if (config.serviceIps !== undefined) checkServiceIps(config.serviceIps);
  const options = { ...DEFAULT_PROXY_OPTIONS, ...config.options };
  for (const [name, number] of Object.entries(options)) {
    if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) throw new BalancerConfigError(`config.options.${name}: expected a number, 0 or more`);
  }
  return { address: config.address, options, ...(config.ports ? { ports: config.ports } : {}), ...(config.serviceIps ? { serviceIps: config.serviceIps } : {}) };
}

function checkServiceIps(serviceIps: ServiceIpsConfig): void {
  if (typeof serviceIps?.address !== 'string' || serviceIps.address === '') throw new BalancerConfigError('config.serviceIps.address: expected the bridge\'s address');
  if (!Array.isArray(serviceIps.listeners)) throw new BalancerConfigError('config.serviceIps.listeners: expected a list');
  serviceIps.listeners.forEach((listener, i) => {
    const field = `config.serviceIps.listeners[${i}]`;
    if (typeof listener?.ip !== 'string' || listener.ip === '') throw new BalancerConfigError(`${field}.ip: expected the service's IP`);
    checkTargeted(listener, field);
  });
}

/** A published port or a service IP listener: port, service, protocol, targets. */
function checkTargeted(port: PublishedPortConfig | ServiceIpListenerConfig, field: string): void {
  if (!Number.isInteger(port?.port) || port.port < 1 || port.port > 65535) throw new BalancerConfigError(`${field}.port: expected 1-65535`);
  if (typeof port.service !== 'string' || !port.service.includes('/')) throw new BalancerConfigError(`${field}.service: expected "namespace/name"`);
  if (port.protocol !== 'HTTP' && port.protocol !== 'TCP') throw new BalancerConfigError(`${field}.protocol: expected HTTP or TCP`);
  if (!Array.isArray(port.targets)) throw new BalancerConfigError(`${field}.targets: expected a list`);
  if (port.inheritTargets !== undefined && typeof port.inheritTargets !== 'boolean') throw new BalancerConfigError(`${field}.inheritTargets: expected true or false`);
  port.targets.forEach((target, i) => {
    if (typeof target?.host !== 'string' || !Number.isInteger(target.port)) throw new BalancerConfigError(`${field}.targets[${i}]: expected { host, port }`);
  });
}

/** Calls `onLine` with each complete line the socket receives (the channel's framing, both sides). */
export function readLines(socket: NodeJS.ReadableStream & { setEncoding(encoding: 'utf8'): unknown }, onLine: (line: string) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let end: number;
    while ((end = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      if (line.trim() !== '') onLine(line);
    }
  });
}
