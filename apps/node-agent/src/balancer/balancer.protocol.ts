/**
 * The channel between the node agent and the node's balancer process (why a process of its own:
 * docs/ARCHITECTURE.md, "Published ports through an agent restart"): `STATE/balancer.sock`, a unix
 * socket made 0600 in the root-only state dir, so only root reaches it. One JSON object a line each
 * way; every request carries an id that its answer repeats.
 *
 * - `configure`: the whole desired config (listen address, proxy settings, every published port
 *   with its protocol and backends). Idempotent: the agent sends it again after any reconnect, and
 *   the balancer changes only what differs (LoadBalancer.apply). Answered once applied.
 * - `traffic`: the balancer's request counts per service (the agent's /metrics and usage reports).
 * - `shutdown`: stop listening and exit (`node-agent cleanup`, so `tsctl down`).
 */
import * as path from 'node:path';
import type { Target } from '../proxy/backend.set';
import type { TrafficSnapshot } from '../proxy/balancer.metrics';
import type { PortPlan, Protocol } from '../proxy/load.balancer';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from '../proxy/published.port';

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

export interface BalancerConfig {
  /** The node's address, which every published port listens on. */
  address: string;
  options: ProxyOptions;
  ports: PublishedPortConfig[];
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
  traffic?: TrafficSnapshot[];
}

export class BalancerConfigError extends Error {
  override readonly name = 'BalancerConfigError';
}

/**
 * The ports of a config as LoadBalancer.apply takes them; a port that inherits takes the targets it
 * had in `previous` (the config applied last) when it has none of its own.
 */
export function portPlans(config: BalancerConfig, previous?: BalancerConfig): Map<number, PortPlan> {
  const before = new Map(previous?.ports.map((p) => [p.port, p]));
  return new Map(config.ports.map((p) => {
    const inherited = p.inheritTargets && p.targets.length === 0 && before.get(p.port)?.service === p.service ? before.get(p.port)!.targets : p.targets;
    return [p.port, { service: p.service, protocol: p.protocol, targets: inherited }];
  }));
}

/**
 * Checks a config read off the channel; the error names the field. The channel is root's only, so
 * this guards against a mismatched agent version, not an attacker.
 */
export function parseBalancerConfig(value: unknown): BalancerConfig {
  const config = value as Partial<BalancerConfig> | undefined;
  if (typeof config?.address !== 'string' || config.address === '') throw new BalancerConfigError('config.address: expected the node\'s address');
  if (!Array.isArray(config.ports)) throw new BalancerConfigError('config.ports: expected a list');
  config.ports.forEach((port, i) => checkPort(port, `config.ports[${i}]`));
  const options = { ...DEFAULT_PROXY_OPTIONS, ...config.options };
  for (const [name, number] of Object.entries(options)) {
    if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) throw new BalancerConfigError(`config.options.${name}: expected a number, 0 or more`);
  }
  return { address: config.address, options, ports: config.ports };
}

function checkPort(port: PublishedPortConfig, field: string): void {
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
