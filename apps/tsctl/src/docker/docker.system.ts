/**
 * The system half of the Docker API: version negotiation (`/_ping`'s `API-Version`, the `/v1.NN`
 * prefix), `/version`, `/info`, and the list of Docker endpoints Tide does not serve yet (answered
 * 501 naming them, so that a client's user learns what is missing rather than "page not found").
 */
import * as os from 'node:os';
import { TIDE_VERSION, type Node } from '@tide/api';
import { ApiClient } from '../api/api.client';
import { DockerError } from './docker.errors';
import { Container, containerState } from './docker.model';

export const MAX_API_VERSION = '1.41';
/** The oldest dockerd 20.10 still serves: clients older than that are refused by both. */
export const MIN_API_VERSION = '1.24';

/** The headers dockerd sends on every response (the CLI reads API-Version from `/_ping` to negotiate). */
export function pingHeaders(): Record<string, string> {
  return { 'API-Version': MAX_API_VERSION, 'OSType': 'linux', 'Docker-Experimental': 'false', 'Server': `Tide/${TIDE_VERSION} (linux)`, 'Cache-Control': 'no-cache, no-store, must-revalidate', 'Pragma': 'no-cache' };
}

function versionNumber(text: string): number {
  const [major, minor] = text.split('.').map(Number);
  return major * 1000 + minor;
}

/** The path without its `/v1.NN` prefix, or the 400 dockerd gives a client too new or too old. */
export function apiVersionOf(pathname: string): { path: string; version?: string } | DockerError {
  const match = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  if (!match) return { path: pathname };
  const version = match[1];
  if (versionNumber(version) > versionNumber(MAX_API_VERSION)) return new DockerError(400, `client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  if (versionNumber(version) < versionNumber(MIN_API_VERSION)) return new DockerError(400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  return { path: match[2], version };
}

/** Docker endpoints outside the subset, by what a user would call them. */
export const UNSUPPORTED: Array<{ pattern: RegExp; what: string }> = [
  { pattern: /^\/containers\/[^/]+\/(top|stats|changes|export|rename|update|attach\/ws)$|^\/containers\/prune$/, what: 'this container endpoint' },
  { pattern: /^\/images\/(search|load|get|prune)$|^\/images\/.+\/get$/, what: 'this image endpoint (search, load, save, prune: use "tsctl image import|prune")' },
  { pattern: /^\/build\/(prune|cancel)$/, what: 'the build cache endpoints' },
  { pattern: /^\/volumes\/prune$/, what: 'pruning volumes (remove each with docker volume rm)' },
  { pattern: /^\/networks\/prune$/, what: 'pruning networks' },
  { pattern: /^\/(swarm|services|tasks|nodes|secrets|configs|plugins|distribution|session|auth|system\/df)(\/|$)/, what: 'this endpoint' },
];

export class SystemInfo {
  constructor(private readonly api: ApiClient) {}

  /** `GET /version`: Tide's version as the Engine's, the API version it speaks. */
  async version(): Promise<Record<string, unknown>> {
    const server = await this.api.get<{ version: string }>('/api/v1/version');
    const common = { Version: server.version, ApiVersion: MAX_API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '', GoVersion: `node ${process.version}`, Os: 'linux', Arch: goArch(), KernelVersion: os.release(), BuildTime: '', Experimental: false };
    return {
      Platform: { Name: `Tide ${server.version}` },
      Components: [{ Name: 'Engine', Version: server.version, Details: { ApiVersion: MAX_API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: os.release(), Tide: this.api.server } }],
      ...common,
    };
  }

  /** `GET /info`: the cluster as one engine: its containers, and the nodes' CPUs and memory together. */
  async info(containers: Container[]): Promise<Record<string, unknown>> {
    const nodes = (await this.api.get<{ items: Node[] }>('/api/v1/nodes')).items;
    const states = containers.map((c) => containerState(c).Status);
    const running = states.filter((s) => s === 'running').length;
    const paused = states.filter((s) => s === 'paused').length;
    const capacity = (key: 'cpu' | 'memory') => nodes.reduce((sum, n) => sum + (n.status?.capacity[key] ?? 0), 0);
    return {
      ID: '', Name: `tide (${nodes.length} node${nodes.length === 1 ? '' : 's'})`, ServerVersion: TIDE_VERSION,
      Containers: containers.length, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: containers.length - running - paused,
      Images: 0, Driver: 'overlay', DriverStatus: [], Plugins: { Volume: [], Network: ['bridge', 'host'], Log: [] },
      OperatingSystem: 'Tide cluster', OSType: 'linux', OSVersion: '', Architecture: os.machine(), KernelVersion: os.release(),
      NCPU: Math.round(capacity('cpu') / 1000), MemTotal: capacity('memory'),
      Swarm: { LocalNodeState: 'inactive', ControlAvailable: false, NodeID: '', NodeAddr: '' },
      Labels: [`tide.server=${this.api.server}`], SecurityOptions: [], Warnings: [],
      IndexServerAddress: '', RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
    };
  }
}

export function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
}
