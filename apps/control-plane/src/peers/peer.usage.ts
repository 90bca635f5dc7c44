/**
 * Usage shared by every control plane: this instance announces its gRPC address in the control planes'
 * directory (etcd, under a lease), follows the others there, and forwards each usage report its
 * agents send to every one of them (usage.forwarder.ts over peer.client.ts). A failing peer costs a
 * metric and a log line at most every LOG_EVERY_MS per peer, never the agents' answer.
 */
import { ControlPlaneDirectory, Etcd3 } from '@tide/store';
import type { ControlPlaneMetrics } from '../metrics';
import { UsageCache } from '../usage/usage.cache';
import { UsageForwarder } from '../usage/usage.forwarder';
import { PeerClients } from './peer.client';

/** The control plane's client certificate and key, and the cluster CA (PEM). */
export interface PeerCredentials {
  ca: string;
  certificate: string;
  key: string;
}

export interface PeerUsageOptions {
  client: Etcd3;
  /** `--id` and `--advertise-grpc`. */
  id: string;
  address: string;
  usage: UsageCache;
  credentials: PeerCredentials;
  metrics: ControlPlaneMetrics;
  log(line: string): void;
  warn(line: string): void;
}

const LOG_EVERY_MS = 30_000;

export class PeerUsage {
  readonly forwarder: UsageForwarder;
  private readonly clients: PeerClients;
  private readonly directory: ControlPlaneDirectory;
  /** Per peer: when its failures were last logged, and how many since. */
  private readonly failures = new Map<string, { loggedAtMs: number; unlogged: number }>();
  /** The peers as last logged. */
  private named = '';

  constructor(private readonly options: PeerUsageOptions) {
    const { metrics } = options;
    this.clients = new PeerClients(options.credentials);
    this.forwarder = new UsageForwarder({
      held: options.usage,
      connect: (peer) => this.clients.connect(peer),
      onError: (peer, error) => this.failed(peer, error),
      onDropped: (peer) => metrics.usageForwardDropped.inc({ peer }),
    });
    this.directory = new ControlPlaneDirectory(options.client, {
      id: options.id, address: options.address, log: options.warn,
      onPeers: (peers) => {
        this.forwarder.setPeers(peers);
        metrics.usagePeers.set(peers.length);
        const named = peers.length === 0 ? 'no other control plane' : peers.map((p) => `${p.id} (${p.address})`).join(', ');
        if (named !== this.named) options.log(`usage reports forwarded to ${named}`);
        this.named = named;
      },
    });
  }

  async start(): Promise<void> {
    await this.directory.start();
  }

  /** A renewed client certificate: the connections to peers made afterwards present it. */
  useCredentials(credentials: PeerCredentials): void {
    this.clients.useCredentials(credentials);
  }

  async stop(): Promise<void> {
    await this.directory.stop();
    this.forwarder.close();
  }

  private failed(peer: string, error: Error): void {
    this.options.metrics.usageForwardErrors.inc({ peer });
    const now = Date.now();
    const seen = this.failures.get(peer) ?? { loggedAtMs: 0, unlogged: 0 };
    seen.unlogged++;
    this.failures.set(peer, seen);
    if (now - seen.loggedAtMs < LOG_EVERY_MS) return;
    this.options.warn(`forwarding usage reports to control plane ${peer} failed ${seen.unlogged} time(s) since the last such line: ${error.message}; its next reports go as full sets`);
    seen.loggedAtMs = now;
    seen.unlogged = 0;
  }
}
