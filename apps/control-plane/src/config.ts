/** Command-line flags of the control plane (docs/REFERENCE.md). */
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, NODE_SLICE_PREFIX, cidrsOverlap, parseCidr } from '@tide/api';
import { parseTtl } from '@tide/auth';
import { parseServiceCidr } from '@tide/control';
import { parseClusterCidr } from './network/pod-cidr.allocator';
import { RegistrySettings, registrySettings } from './registry/registry.flags';

export interface ControlPlaneConfig {
  listen: { host: string; port: number };
  grpcListen: string;
  etcd?: string[];
  etcdPort: number;
  /** `--etcd-ca-file`, `--etcd-cert-file`, `--etcd-key-file` for an external etcd (default: PKI/etcd, as for the supervised one). */
  etcdTls: { caFile?: string; certFile?: string; keyFile?: string };
  /** `--metrics-insecure-listen`: /metrics also over plain HTTP without credentials (opt-in). */
  metricsInsecureListen?: { host: string; port: number };
  stateDir: string;
  /** The cluster's certificates (libs/pki clusterPkiLayout); missing ones are made at start. */
  pkiDir: string;
  /** One JSON line per mutating API request (0600). */
  auditLog: string;
  id: string;
  nodeGraceSeconds: number;
  nodeLeaseSeconds: number;
  /** The container network; each node gets a slice of it, a /nodeSlicePrefix (default /24). */
  podCidr: string;
  /** The prefix length of one node's slice: /24 holds 253 containers, /22 1,021 (the density bench). */
  nodeSlicePrefix: number;
  /** Lifetime of the node certificates it signs (agents renew at two thirds of it); default a year. */
  nodeCertificateValidityMs?: number;
  /** The service range: each Service gets a virtual IP of it. */
  serviceCidr: string;
  /** Trough consolidation (on by default) and how long a node must stay worth emptying first. */
  consolidation: { enabled: boolean; delaySeconds: number };
  /** `--registry-listen` (embedded, supervised) or `--registry HOST:PORT [--registry-ca FILE]` (existing); none without either. */
  registry: RegistrySettings;
}

export class ConfigError extends Error {}

function hostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new ConfigError(`${flag}: expected HOST:PORT, got "${value}"`);
  return { host: match[1], port: Number(match[2]) };
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
  const known = ['listen', 'grpc-listen', 'etcd', 'etcd-port', 'state-dir', 'pki-dir', 'audit-log', 'id', 'node-grace-seconds', 'node-lease-seconds', 'pod-cidr', 'node-slice-prefix',
    'service-cidr', 'consolidation', 'consolidation-delay-seconds', 'node-certificate-validity', 'registry-listen', 'registry', 'registry-ca',
    'etcd-ca-file', 'etcd-cert-file', 'etcd-key-file', 'metrics-insecure-listen'];
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
    etcd: values.get('etcd')?.split(',').map((s) => s.trim()).filter(Boolean),
    etcdPort: number('etcd-port', 2379),
    etcdTls: { caFile: values.get('etcd-ca-file'), certFile: values.get('etcd-cert-file'), keyFile: values.get('etcd-key-file') },
    ...(values.has('metrics-insecure-listen') ? { metricsInsecureListen: hostPort(values.get('metrics-insecure-listen')!, '--metrics-insecure-listen') } : {}),
    stateDir,
    pkiDir: values.get('pki-dir') ?? path.join(stateDir, 'pki'),
    auditLog: values.get('audit-log') ?? path.join(stateDir, 'audit.log'),
    id: values.get('id') ?? `${os.hostname()}-${process.pid}`,
    nodeGraceSeconds: number('node-grace-seconds', 30),
    nodeLeaseSeconds: number('node-lease-seconds', 6),
    nodeSlicePrefix: slicePrefix(values.get('node-slice-prefix')),
    podCidr: podCidr(values.get('pod-cidr') ?? DEFAULT_POD_CIDR, slicePrefix(values.get('node-slice-prefix'))),
    ...(values.has('node-certificate-validity') ? { nodeCertificateValidityMs: validity(values.get('node-certificate-validity')!) } : {}),
    serviceCidr: serviceCidr(values.get('service-cidr') ?? DEFAULT_SERVICE_CIDR, values.get('pod-cidr') ?? DEFAULT_POD_CIDR),
    consolidation: { enabled: onOff(values.get('consolidation') ?? 'on', '--consolidation'), delaySeconds: number('consolidation-delay-seconds', 30) },
    registry: registrySettings(values, (value, flag) => hostPort(value, flag)),
  };
}

function onOff(value: string, flag: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new ConfigError(`${flag}: expected on or off, got "${value}"`);
}

function validity(value: string): number {
  const parsed = parseTtl(value, '--node-certificate-validity');
  if (!parsed.ok) throw new ConfigError(parsed.reason);
  return parsed.value;
}

/** 16 (65,533 containers a node) to 28 (13). */
function slicePrefix(value: string | undefined): number {
  if (value === undefined) return NODE_SLICE_PREFIX;
  const prefix = Number(value);
  if (!Number.isInteger(prefix) || prefix < 16 || prefix > 28) throw new ConfigError(`--node-slice-prefix: expected a prefix length from 16 to 28, got "${value}"`);
  return prefix;
}

function podCidr(value: string, slice: number): string {
  try {
    return parseClusterCidr(value, slice);
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
