/** Command-line flags of the control plane (docs/REFERENCE.md). */
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_NODE_CIDR_MASK_SIZE, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, POD_NETWORK_MODES, PodNetworkMode, cidrsOverlap, parseCidr } from '@tide/api';
import { parseTtl } from '@tide/auth';
import { parseServiceCidr } from '@tide/control';
import { ConfigError } from './config.error';
import { parseClusterCidr } from './network/pod-cidr.allocator';
import { NodePoolFlagError, NodePoolSettings, nodePoolSettings } from './nodes/node-pool.flags';
import { RegistrySettings, registrySettings } from './registry/registry.flags';
import { defaultKeyFile } from './secrets/encryption.keys';

export interface ControlPlaneConfig {
  listen: { host: string; port: number };
  grpcListen: string;
  /**
   * `--advertise-grpc HOST:PORT`: where the other control planes reach this one's gRPC endpoint (they
   * forward their agents' usage reports there). Default `--grpc-listen`, a wildcard host replaced by
   * this machine's name; the serving certificate carries its host.
   */
  grpcAdvertise: string;
  etcd?: string[];
  etcdPort: number;
  /** Supervised etcd members (`--etcd-members`, 1 or 3 or 5; default 1): member i ≥ 1 on etcdPort + 1 + 2i and the next. */
  etcdMembers: number;
  /** `--etcd-ca-file`, `--etcd-cert-file`, `--etcd-key-file` for an external etcd (default: PKI/etcd, as for the supervised one). */
  etcdTls: { caFile?: string; certFile?: string; keyFile?: string };
  /**
   * The store's upkeep: the supervised etcd's `--quota-backend-bytes` (`--etcd-quota-bytes`, default
   * etcd's 2 GiB; also what NOSPACE recovery measures an external etcd against) and compaction
   * retention (`--etcd-compaction-retention`, default 5m); how long Events live (`--event-ttl-seconds`).
   */
  etcdUpkeep: { quotaBytes?: number; compactionRetention: string; eventTtlSeconds: number };
  /** `--metrics-insecure-listen`: /metrics also over plain HTTP without credentials (opt-in). */
  metricsInsecureListen?: { host: string; port: number };
  stateDir: string;
  /** The cluster's certificates (libs/pki clusterPkiLayout); missing ones are made at start. */
  pkiDir: string;
  /** One JSON line per mutating API request (0600). */
  auditLog: string;
  /** `--encryption-key-file`: the keys Secrets are sealed with in etcd (secrets/encryption.keys.ts); default STATE/encryption/keys.json. */
  encryptionKeyFile: string;
  /** `--id`: names this instance in the leader election and in the control planes' directory (no '/'). */
  id: string;
  /** NotReady time before a node's replicas are replaced, when its host does not answer either. */
  nodeGraceSeconds: number;
  /** The same when its host answers (its agent is down or restarting; its containers run on). */
  agentDownGraceSeconds: number;
  nodeLeaseSeconds: number;
  /** The container network; each node gets a slice of it, a /nodeCidrMaskSize. */
  podCidr: string;
  /**
   * Lifetime of the certificates it issues for itself, etcd and the embedded registry (renewed at two
   * thirds of it, without a restart); default a year. Short ones (`30s`) are for tests.
   */
  certificateValidityMs?: number;
  /** `--node-cidr-mask-size` (default 22: 1,021 containers per node). */
  nodeCidrMaskSize: number;
  /** `--pod-network`: how agents reach other nodes' slices (host-gw routes, or a VXLAN overlay). */
  podNetwork: PodNetworkMode;
  /** Lifetime of the node certificates it signs (agents renew at two thirds of it); default a year. */
  nodeCertificateValidityMs?: number;
  /** The service range: each Service gets a virtual IP of it. */
  serviceCidr: string;
  /** Trough consolidation (on by default) and how long a node must stay worth emptying first. */
  consolidation: { enabled: boolean; delaySeconds: number };
  /** `--registry-listen` (embedded, supervised) or `--registry HOST:PORT [--registry-ca FILE]` (existing); none without either. */
  registry: RegistrySettings;
  /** `--node-pool` with its provider: the node autoscaler adds and removes nodes of it (none without). */
  nodePool?: NodePoolSettings;
}

export { ConfigError } from './config.error';

/**
 * Node loss, with defaults chosen so that a lost host's replicas are ready elsewhere within 10 s
 * (docs/ARCHITECTURE.md, "When a host is lost"): the lease runs out 5 s after the last heartbeat
 * (4 heartbeats per lease: 3 may be lost, a stall of up to 3.75 s goes unnoticed), then the node is
 * NotReady for 2 s, time for a live agent whose lease lapsed to register again, before its replicas
 * are replaced, if its host does not answer either. A host that answers has only lost its agent
 * (crashed, restarting): its containers run on under the node's reaper, and the agent adopts them
 * when it is back, so they are replaced only after 30 s.
 */
export const DEFAULT_NODE_LEASE_SECONDS = 5;
export const DEFAULT_NODE_GRACE_SECONDS = 2;
export const DEFAULT_AGENT_DOWN_GRACE_SECONDS = 30;
const HEARTBEATS_PER_LEASE = 4;

/** How often agents renew their lease (told at registration). */
export function heartbeatIntervalMs(leaseSeconds: number): number {
  return Math.max(250, (leaseSeconds * 1000) / HEARTBEATS_PER_LEASE);
}

function hostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new ConfigError(`${flag}: expected HOST:PORT, got "${value}"`);
  return { host: match[1], port: Number(match[2]) };
}

/** The advertised gRPC address: given, or the listen address with a wildcard host made this machine's name. */
function grpcAdvertise(given: string | undefined, listen: string): string {
  if (given !== undefined) {
    const { host } = hostPort(given, '--advertise-grpc');
    if (WILDCARD_HOSTS.includes(host)) throw new ConfigError(`--advertise-grpc ${given}: a wildcard names no host the other control planes can dial; give this machine's address`);
    return given;
  }
  const { host, port } = hostPort(listen, '--grpc-listen');
  return WILDCARD_HOSTS.includes(host) ? `${os.hostname()}:${port}` : listen;
}

const WILDCARD_HOSTS = ['0.0.0.0', '::', '[::]', ''];

function instanceId(given: string | undefined): string {
  const id = given ?? `${os.hostname()}-${process.pid}`;
  if (id === '' || id.includes('/')) throw new ConfigError(`--id "${id}": must be non-empty and without '/' (it names this instance's key in etcd)`);
  return id;
}

export function parseFlags(argv: string[]): ControlPlaneConfig {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!flag.startsWith('--')) throw new ConfigError(`unexpected argument "${flag}"`);
    const [name, inline] = flag.slice(2).split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    values.set(name, value);
  }
  const known = ['listen', 'grpc-listen', 'advertise-grpc', 'etcd', 'etcd-port', 'state-dir', 'pki-dir', 'audit-log', 'encryption-key-file', 'id', 'node-grace-seconds', 'agent-down-grace-seconds', 'node-lease-seconds', 'pod-cidr',
    'node-cidr-mask-size', 'pod-network',
    'service-cidr', 'consolidation', 'consolidation-delay-seconds', 'certificate-validity', 'node-certificate-validity', 'registry-listen', 'registry', 'registry-ca',
    'etcd-ca-file', 'etcd-cert-file', 'etcd-key-file', 'metrics-insecure-listen', 'etcd-members', 'etcd-quota-bytes', 'etcd-compaction-retention', 'event-ttl-seconds',
    'node-pool', 'local-nodes', 'node-scale-down-delay-seconds', 'node-lead-seconds'];
  for (const name of values.keys()) if (!known.includes(name)) throw new ConfigError(`unknown flag --${name} (known: ${known.map((k) => `--${k}`).join(' ')})`);
  const number = (name: string, fallback: number) => {
    const value = Number(values.get(name) ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`--${name}: expected a positive number`);
    return value;
  };
  const stateDir = values.get('state-dir') ?? '/var/lib/tide/control-plane';
  const grpc = values.get('grpc-listen') ?? '127.0.0.1:7071';
  hostPort(grpc, '--grpc-listen');
  return {
    listen: hostPort(values.get('listen') ?? '127.0.0.1:7070', '--listen'),
    grpcListen: grpc,
    grpcAdvertise: grpcAdvertise(values.get('advertise-grpc'), grpc),
    etcd: values.get('etcd')?.split(',').map((s) => s.trim()).filter(Boolean),
    etcdPort: number('etcd-port', 2379),
    etcdMembers: etcdMembers(values.get('etcd-members'), values.has('etcd')),
    etcdTls: { caFile: values.get('etcd-ca-file'), certFile: values.get('etcd-cert-file'), keyFile: values.get('etcd-key-file') },
    etcdUpkeep: {
      ...(values.has('etcd-quota-bytes') ? { quotaBytes: number('etcd-quota-bytes', 0) } : {}),
      compactionRetention: retention(values.get('etcd-compaction-retention') ?? '5m'),
      eventTtlSeconds: number('event-ttl-seconds', 3600),
    },
    ...(values.has('metrics-insecure-listen') ? { metricsInsecureListen: hostPort(values.get('metrics-insecure-listen')!, '--metrics-insecure-listen') } : {}),
    stateDir,
    pkiDir: values.get('pki-dir') ?? path.join(stateDir, 'pki'),
    auditLog: values.get('audit-log') ?? path.join(stateDir, 'audit.log'),
    encryptionKeyFile: values.get('encryption-key-file') ?? defaultKeyFile(stateDir),
    id: instanceId(values.get('id')),
    nodeGraceSeconds: number('node-grace-seconds', DEFAULT_NODE_GRACE_SECONDS),
    agentDownGraceSeconds: number('agent-down-grace-seconds', DEFAULT_AGENT_DOWN_GRACE_SECONDS),
    nodeLeaseSeconds: number('node-lease-seconds', DEFAULT_NODE_LEASE_SECONDS),
    ...podNetwork(values),
    ...(values.has('certificate-validity') ? { certificateValidityMs: validity(values.get('certificate-validity')!, '--certificate-validity') } : {}),
    ...(values.has('node-certificate-validity') ? { nodeCertificateValidityMs: validity(values.get('node-certificate-validity')!, '--node-certificate-validity') } : {}),
    serviceCidr: serviceCidr(values.get('service-cidr') ?? DEFAULT_SERVICE_CIDR, values.get('pod-cidr') ?? DEFAULT_POD_CIDR),
    consolidation: { enabled: onOff(values.get('consolidation') ?? 'on', '--consolidation'), delaySeconds: number('consolidation-delay-seconds', 30) },
    registry: registrySettings(values, (value, flag) => hostPort(value, flag)),
    ...nodePool(values),
  };
}

function etcdMembers(value: string | undefined, external: boolean): number {
  if (value === undefined) return 1;
  if (external) throw new ConfigError('--etcd-members: the control plane supervises members only without --etcd (an external cluster has its own)');
  const members = Number(value);
  if (![1, 3, 5].includes(members)) throw new ConfigError(`--etcd-members: expected 1, 3 or 5, got "${value}" (an even count adds no fault tolerance)`);
  return members;
}

/** etcd's periodic retention: a duration such as 5m, 1h, 30s (Go syntax, one unit). */
function retention(value: string): string {
  if (/^\d+(s|m|h)$/.test(value) && !/^0+[smh]$/.test(value)) return value;
  throw new ConfigError(`--etcd-compaction-retention: expected a duration such as 5m, 1h or 30s, got "${value}"`);
}

function nodePool(values: ReadonlyMap<string, string>): { nodePool?: NodePoolSettings } {
  try {
    const settings = nodePoolSettings(values);
    return settings ? { nodePool: settings } : {};
  } catch (error) {
    if (error instanceof NodePoolFlagError) throw new ConfigError(error.message);
    throw error;
  }
}

function onOff(value: string, flag: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new ConfigError(`${flag}: expected on or off, got "${value}"`);
}

function validity(value: string, flag: string): number {
  const parsed = parseTtl(value, flag);
  if (!parsed.ok) throw new ConfigError(parsed.reason);
  return parsed.value;
}

/** `--pod-cidr`, `--node-cidr-mask-size` and `--pod-network`, checked together. */
function podNetwork(values: Map<string, string>): Pick<ControlPlaneConfig, 'podCidr' | 'nodeCidrMaskSize' | 'podNetwork'> {
  const maskText = values.get('node-cidr-mask-size') ?? String(DEFAULT_NODE_CIDR_MASK_SIZE);
  const nodeCidrMaskSize = Number(maskText);
  // A /30 leaves one container beside the gateway; shorter than /8 is not a slice but a network.
  if (!Number.isInteger(nodeCidrMaskSize) || nodeCidrMaskSize < 8 || nodeCidrMaskSize > 30) {
    throw new ConfigError(`--node-cidr-mask-size: expected a prefix length from 8 to 30 (22: 1,021 containers per node), got "${maskText}"`);
  }
  const mode = values.get('pod-network') ?? 'host-gw';
  if (!(POD_NETWORK_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(`--pod-network: expected ${POD_NETWORK_MODES.join(' or ')}, got "${mode}"`);
  }
  try {
    return { podCidr: parseClusterCidr(values.get('pod-cidr') ?? DEFAULT_POD_CIDR, nodeCidrMaskSize), nodeCidrMaskSize, podNetwork: mode as PodNetworkMode };
  } catch (error) {
    throw new ConfigError(`--pod-cidr: ${(error as Error).message}`);
  }
}

function serviceCidr(value: string, podCidrText: string): string {
  let range: string;
  try {
    range = parseServiceCidr(value);
  } catch (error) {
    throw new ConfigError(`--service-cidr: ${(error as Error).message}`);
  }
  if (cidrsOverlap(parseCidr(range), parseCidr(podCidrText))) {
    throw new ConfigError(`--service-cidr: ${range} overlaps the container network ${podCidrText} (--pod-cidr): give them separate ranges`);
  }
  return range;
}
