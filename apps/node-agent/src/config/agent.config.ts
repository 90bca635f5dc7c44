/** Command-line flags of the node agent (contract: docs/REFERENCE.md, "Processes and flags"). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMemory } from '@tide/api';
import { DEFAULT_DISK_THRESHOLDS, DiskThresholds, parseDiskThresholds } from '../disk/disk.pressure';
import { DEFAULT_IMAGE_GC, DEFAULT_WARM_POOL, MAX_WARM_POOL, ImageGcPolicy, imageGcPolicy, parseGcThreshold } from '@tide/runtime';
import { Upstream, hostNameservers, parseUpstreams } from '../dns/resolv.conf';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from '../proxy/published.port';
import { DEFAULT_LOG_LIMITS, LogLimits } from '../logs/log.files';

export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
}

export interface AgentConfig {
  name: string;
  /** host:port of the control plane's gRPC endpoint. */
  controlPlane: string;
  address: string;
  port: number;
  stateDir: string;
  imageDir: string;
  capacity: Resources;
  labels: Record<string, string>;
  /** Container inits kept booted per namespace set (0: every start is cold). */
  warmPool: number;
  /** The most a burst of starts keeps booted per namespace set (libs/runtime warm.pool.ts); at least warmPool. */
  warmPoolMax: number;
  /** The HTTPS endpoint's serving certificate, its key, and the CA of client certificates (kubelet's flag names). */
  tls: { certificate: string; key: string; clientCa: string };
  /**
   * `--api-server HOST:PORT`: the control plane's HTTPS API, which the agent joins through and asks
   * about tokens sent to its /metrics (default: the first control plane's host, one port below gRPC).
   */
  apiServer: string;
  /** `--metrics-insecure-listen`: /metrics also over plain HTTP, without credentials (opt-in). */
  metricsInsecureListen?: { host: string; port: number };
  /**
   * `--join-token-file FILE|-`, `$TIDE_JOIN_TOKEN` or `--join TOKEN`, with `--ca-hash sha256:…`: how to
   * get a node certificate when the state dir has none. `source` says where the token came from: a
   * flag leaves it in the process list (/proc/PID/cmdline, readable by every user) while the agent runs.
   */
  join?: { token: string; caHash: string; apiServer: string; source: JoinTokenSource };
  /** Where the node's DNS sends names outside the cluster domain (default: the host's /etc/resolv.conf). */
  dnsUpstreams: Upstream[];
  /** The balancer's limits and timeouts (`--lb-*` flags). */
  proxy: ProxyOptions;
  /** Each container's log: the size that triggers a rotation, and the files kept (kubelet's flags of the same names). */
  logLimits: LogLimits;
  /** When unused images are removed (`--image-gc-high-threshold`, `--image-gc-low-threshold`). */
  imageGc: ImageGcPolicy;
  /** When the node is under disk pressure (`--eviction-hard`, kubelet's syntax and disk defaults), checked every `intervalMs`. */
  disk: { thresholds: DiskThresholds; transitionMs: number; intervalMs: number };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_IMAGE_DIR = '/var/lib/tide/images';
const KNOWN_FLAGS = [
  'name', 'control-plane', 'address', 'port', 'state-dir', 'image-dir', 'cpu', 'memory', 'labels', 'warm-pool', 'warm-pool-max', 'join', 'join-token-file', 'ca-hash', 'api-server',
  'dns-upstream', 'tls-cert-file', 'tls-private-key-file', 'client-ca-file', 'metrics-insecure-listen',
  'lb-max-requests-per-replica', 'lb-queue-length', 'lb-request-deadline', 'container-log-max-size', 'container-log-max-files',
  'image-gc-high-threshold', 'image-gc-low-threshold', 'image-gc-min-age',
  'eviction-hard', 'eviction-pressure-transition-period', 'disk-check-interval',
];

/** `--flag value` and `--flag=value`; every flag takes a value. */
export function parseFlagValues(argv: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new ConfigError(`--${name} needs a value`);
    values.set(name, value);
  }
  return values;
}

export type JoinTokenSource = 'flag' | 'file' | 'env';

/** The environment variable a join token may come in (tsctl up uses it; the agent removes it from its environment). */
export const JOIN_TOKEN_ENV = 'TIDE_JOIN_TOKEN';
/** The CA pin that goes with a join token in the environment: how the node's reaper hands both to the agent (main.ts). */
export const JOIN_CA_HASH_ENV = 'TIDE_JOIN_CA_HASH';

/** Where parseAgentConfig finds a join token besides the flags: the environment, and the file `--join-token-file` names (`-`: stdin). */
export interface JoinTokenInputs {
  env: Record<string, string | undefined>;
  readFile(file: string): string;
}

const PROCESS_INPUTS: JoinTokenInputs = { env: process.env, readFile: (file) => fs.readFileSync(file === '-' ? 0 : file, 'utf8') };

/** The state dir the flags name (`--state-dir`, else the default for `--name`), read before anything else. */
export function stateDirOf(argv: string[]): string {
  const values = parseFlagValues(argv);
  return values.get('state-dir') ?? `/var/lib/tide/nodes/${values.get('name') ?? os.hostname()}`;
}

export function parseAgentConfig(argv: string[], machine: Resources = machineResources(), inputs: JoinTokenInputs = PROCESS_INPUTS): AgentConfig {
  const values = parseFlagValues(argv);
  for (const name of values.keys()) {
    if (!KNOWN_FLAGS.includes(name)) throw new ConfigError(`unknown flag --${name} (known: ${KNOWN_FLAGS.map((k) => `--${k}`).join(' ')})`);
  }
  const name = values.get('name') ?? os.hostname();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(name)) throw new ConfigError(`--name: "${name}" is not a valid node name (letters, digits, '-', '.')`);
  const stateDir = values.get('state-dir') ?? `/var/lib/tide/nodes/${name}`;
  const controlPlane = controlPlanes(values.get('control-plane') ?? '127.0.0.1:7071');
  const apiServer = apiServerFlag(values.get('api-server'), controlPlane);
  const join = joinFlags(values, apiServer, inputs);
  return {
    name,
    controlPlane,
    ...(join ? { join } : {}),
    address: values.get('address') ?? '127.0.0.1',
    port: positiveInteger('port', values.get('port'), 7080),
    stateDir,
    imageDir: values.get('image-dir') ?? DEFAULT_IMAGE_DIR,
    capacity: {
      cpuMillis: positiveInteger('cpu', values.get('cpu')?.replace(/m$/, ''), machine.cpuMillis),
      memoryBytes: memoryFlag(values.get('memory'), machine.memoryBytes),
    },
    labels: parseLabels(values.get('labels') ?? ''),
    warmPool: countFlag('warm-pool', values.get('warm-pool'), DEFAULT_WARM_POOL),
    warmPoolMax: countFlag('warm-pool-max', values.get('warm-pool-max'), MAX_WARM_POOL),
    dnsUpstreams: dnsUpstreams(values.get('dns-upstream')),
    proxy: {
      ...DEFAULT_PROXY_OPTIONS,
      maxRequestsPerReplica: countFlag('lb-max-requests-per-replica', values.get('lb-max-requests-per-replica'), DEFAULT_PROXY_OPTIONS.maxRequestsPerReplica),
      queueLength: countFlag('lb-queue-length', values.get('lb-queue-length'), DEFAULT_PROXY_OPTIONS.queueLength),
      requestDeadlineMs: durationFlag('lb-request-deadline', values.get('lb-request-deadline'), DEFAULT_PROXY_OPTIONS.requestDeadlineMs),
    },
    tls: tlsFlags(values, stateDir),
    imageGc: imageGcFlags(values),
    disk: {
      thresholds: diskThresholdsFlag(values.get('eviction-hard')),
      transitionMs: durationFlag('eviction-pressure-transition-period', values.get('eviction-pressure-transition-period'), 30_000),
      intervalMs: durationFlag('disk-check-interval', values.get('disk-check-interval'), 10_000) || 10_000,
    },
    apiServer,
    logLimits: {
      maxSizeBytes: bytesFlag('container-log-max-size', values.get('container-log-max-size'), DEFAULT_LOG_LIMITS.maxSizeBytes),
      maxFiles: positiveInteger('container-log-max-files', values.get('container-log-max-files'), DEFAULT_LOG_LIMITS.maxFiles),
    },
    ...(values.has('metrics-insecure-listen') ? { metricsInsecureListen: listenFlag('metrics-insecure-listen', values.get('metrics-insecure-listen')!) } : {}),
  };
}

/**
 * The HTTPS endpoint's files, by default in `STATE/pki/` (where `tsctl up` writes them). There is no
 * plain-HTTP fallback: without them the agent does not start (loadAgentTls names the missing file).
 */
function tlsFlags(values: Map<string, string>, stateDir: string): AgentConfig['tls'] {
  const pki = path.join(stateDir, 'pki');
  return {
    certificate: values.get('tls-cert-file') ?? path.join(pki, 'serving.crt'),
    key: values.get('tls-private-key-file') ?? path.join(pki, 'serving.key'),
    clientCa: values.get('client-ca-file') ?? path.join(pki, 'ca.crt'),
  };
}

/**
 * `--api-server HOST:PORT` (an `https://` prefix is allowed; the API is HTTPS only): by default the
 * first control plane's host, one port below its gRPC port (7070 for 7071, and `tsctl up`'s P for P+1).
 */
function apiServerFlag(raw: string | undefined, controlPlane: string): string {
  const first = controlPlane.split(',')[0];
  if (raw === undefined) return `${first.replace(/:\d+$/, '')}:${Number(/:(\d+)$/.exec(first)![1]) - 1}`;
  if (/^http:\/\//i.test(raw)) throw new ConfigError(`--api-server: the API is HTTPS only, got "${raw}"`);
  const hostPort = raw.replace(/^https:\/\//i, '').replace(/\/$/, '');
  if (!/^[^:\s/]+:\d+$/.test(hostPort)) throw new ConfigError(`--api-server: expected HOST:PORT, got "${raw}"`);
  return hostPort;
}

function listenFlag(flag: string, raw: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(raw);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new ConfigError(`--${flag}: expected HOST:PORT, got "${raw}"`);
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

export function machineResources(): Resources {
  return { cpuMillis: os.cpus().length * 1000, memoryBytes: os.totalmem() };
}

/**
 * What the scheduler may hand out: capacity minus a reserve for the agent and the system,
 * 100m CPU and 128Mi memory, but never more than a tenth of a small node.
 */
export function allocatableOf(capacity: Resources): Resources {
  const cpuReserve = Math.min(100, Math.floor(capacity.cpuMillis / 10));
  const memoryReserve = Math.min(128 * 2 ** 20, Math.floor(capacity.memoryBytes / 10));
  return { cpuMillis: capacity.cpuMillis - cpuReserve, memoryBytes: capacity.memoryBytes - memoryReserve };
}

export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--labels: expected k=v,k2=v2, got "${pair}"`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function positiveInteger(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`--${flag}: expected a positive integer, got "${raw}"`);
  return value;
}

function countFlag(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`--${flag}: expected 0 or a positive integer, got "${raw}"`);
  return value;
}

function diskThresholdsFlag(raw: string | undefined): DiskThresholds {
  if (raw === undefined) return DEFAULT_DISK_THRESHOLDS;
  try {
    return parseDiskThresholds(raw);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** `15s`, `500ms`, `1m` or `0` (none), in ms. */
function durationFlag(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(raw);
  if (raw === '0') return 0;
  if (!match) throw new ConfigError(`--${flag}: expected a duration such as 15s, 500ms or 1m (0: none), got "${raw}"`);
  return Math.round(Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm']);
}

function memoryFlag(raw: string | undefined, fallback: number): number {
  return bytesFlag('memory', raw, fallback);
}

/** Bytes, or a quantity such as 512Mi or 2Gi. */
function bytesFlag(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  try {
    const bytes = parseMemory(raw);
    if (bytes > 0) return bytes;
  } catch {
    /* reported below */
  }
  throw new ConfigError(`--${flag}: expected bytes (or 512Mi, 2Gi), got "${raw}"`);
}

/** The join token and where it came from: one of `--join-token-file`, `$TIDE_JOIN_TOKEN`, `--join`, or none. */
function joinToken(values: Map<string, string>, inputs: JoinTokenInputs): { token: string; source: JoinTokenSource; what: string } | undefined {
  const file = values.get('join-token-file');
  const env = inputs.env[JOIN_TOKEN_ENV];
  const given = [file !== undefined && '--join-token-file', env !== undefined && env !== '' && `$${JOIN_TOKEN_ENV}`, values.has('join') && '--join'].filter(Boolean);
  if (given.length > 1) throw new ConfigError(`the join token comes from one place: got ${given.join(' and ')}`);
  if (file !== undefined) {
    let text: string;
    try {
      text = inputs.readFile(file);
    } catch (error) {
      throw new ConfigError(`--join-token-file: cannot read ${file === '-' ? 'stdin' : file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return { token: text.trim(), source: 'file', what: '--join-token-file' };
  }
  if (env !== undefined && env !== '') return { token: env.trim(), source: 'env', what: `$${JOIN_TOKEN_ENV}` };
  const flag = values.get('join');
  return flag === undefined ? undefined : { token: flag, source: 'flag', what: '--join' };
}

/** The join token (joinToken) with `--ca-hash sha256:…`: the agent joins through `apiServer` (--api-server). */
function joinFlags(values: Map<string, string>, apiServer: string, inputs: JoinTokenInputs): AgentConfig['join'] {
  const found = joinToken(values, inputs);
  const caHash = values.get('ca-hash') ?? (found?.source === 'env' ? inputs.env[JOIN_CA_HASH_ENV] : undefined);
  if (found === undefined) {
    if (caHash !== undefined) throw new ConfigError('--ca-hash goes with a join token (--join-token-file FILE, $TIDE_JOIN_TOKEN or --join TOKEN)');
    return undefined;
  }
  const { token, source, what } = found;
  if (!/^tide_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/.test(token)) throw new ConfigError(`${what}: expected a join token tide_<id>_<secret> (tsctl token create --join prints it)`);
  if (caHash === undefined) throw new ConfigError(`${what} needs --ca-hash sha256:… (the cluster CA's pin, printed with the join command): without it a man in the middle could pose as the control plane`);
  if (!/^sha256:[0-9a-fA-F]{64}$/.test(caHash)) throw new ConfigError(`--ca-hash: expected "sha256:" followed by 64 hex digits, got "${caHash}"`);
  return { token, caHash: caHash.toLowerCase(), apiServer, source };
}

/** One or more control planes, HOST:PORT[,HOST:PORT...]: the agent fails over between them. */
function controlPlanes(value: string): string {
  for (const address of value.split(',')) {
    if (!/^[^:\s]+:\d+$/.test(address)) throw new ConfigError(`--control-plane: expected HOST:PORT[,HOST:PORT...], got "${address}"`);
  }
  return value;
}

function dnsUpstreams(raw: string | undefined): Upstream[] {
  if (raw === undefined) return hostNameservers();
  try {
    return parseUpstreams(raw);
  } catch (error) {
    throw new ConfigError(`--dns-upstream: ${(error as Error).message} (expected IP[:PORT][,IP[:PORT]...])`);
  }
}

/** Kubelet style: `--image-gc-high-threshold 85 --image-gc-low-threshold 80` (percent of the image
 *  filesystem, the defaults), or sizes of the store's own content (`2Gi`, `1500Mi`); `--image-gc-min-age 2m`. */
function imageGcFlags(values: Map<string, string>): ImageGcPolicy {
  const high = values.get('image-gc-high-threshold');
  const low = values.get('image-gc-low-threshold');
  const minAgeMs = durationFlag('image-gc-min-age', values.get('image-gc-min-age'), DEFAULT_IMAGE_GC.minAgeMs);
  if (high === undefined && low === undefined) return { ...DEFAULT_IMAGE_GC, minAgeMs };
  if (high === undefined || low === undefined) throw new ConfigError('--image-gc-high-threshold and --image-gc-low-threshold go together: give both');
  try {
    return imageGcPolicy(parseGcThreshold(high, '--image-gc-high-threshold'), parseGcThreshold(low, '--image-gc-low-threshold'), minAgeMs);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}
