/**
 * Starts and supervises a local etcd (Debian's etcd-server) for a one-machine cluster: data in the
 * state dir, restarted if it dies, stopped with the control plane. With `tls` (what the control plane
 * always gives) client and peer URLs are https and both ends must show a certificate of etcd's own
 * CA: the only client certificate there is the control plane's, so nothing else reads or writes etcd.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noop } from 'cockatiel';
import { EtcdClientFiles, createEtcdClient, etcdClientCredentials } from './etcd.client';

/** etcd's certificates (libs/pki etcdPkiLayout has these fields). */
export interface EtcdTlsFiles extends EtcdClientFiles {
  serverCertificate: string;
  serverKey: string;
  peerCertificate: string;
  peerKey: string;
}

export interface EtcdSupervisorOptions {
  dataDir: string;
  /** The address etcd listens on and advertises (default 127.0.0.1). */
  host?: string;
  clientPort: number;
  /** Default: clientPort + 1. */
  peerPort?: number;
  binary?: string;
  logFile?: string;
  log?: (line: string) => void;
  /** Client and peer TLS with client certificates required (without it etcd speaks plain HTTP: tests of the store alone). */
  tls?: EtcdTlsFiles;
  /**
   * History kept before etcd compacts it (`--auto-compaction-mode periodic`), default
   * DEFAULT_COMPACTION_RETENTION. A watch that falls further behind than this resyncs from a list.
   */
  compactionRetention?: string;
  /** `--quota-backend-bytes` (default etcd's 2 GiB): beyond it etcd raises NOSPACE (etcd.maintenance.ts). */
  quotaBackendBytes?: number;
  /** The member's name (default "tide") and the whole cluster's `name=peerURL,...` (default itself alone): etcd.cluster.ts. */
  member?: { name: string; initialCluster: string };
}

/** Kubernetes' API server compacts every 5 minutes too. */
export const DEFAULT_COMPACTION_RETENTION = '5m';

export class EtcdSupervisor {
  private child?: ChildProcess;

  /** The etcd process, while it runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }
  private stopping = false;
  readonly url: string;

  constructor(private readonly options: EtcdSupervisorOptions) {
    this.url = `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${options.clientPort}`;
    this.peerUrl = `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${options.peerPort ?? options.clientPort + 1}`;
  }

  /** The member's peer URL. */
  readonly peerUrl: string;

  async start(timeoutMs = 20_000): Promise<void> {
    this.launch();
    await this.waitHealthy(timeoutMs);
  }

  /** Starts etcd without waiting: the members of a new cluster become healthy only together. */
  launch(): void {
    this.spawn();
  }

  waitHealthy(timeoutMs = 20_000): Promise<void> {
    return waitHealthy(this.url, timeoutMs, this.options.tls);
  }

  private spawn(): void {
    const { dataDir } = this.options;
    const peer = this.peerUrl;
    const name = this.options.member?.name ?? 'tide';
    fs.mkdirSync(dataDir, { recursive: true });
    const log = fs.openSync(this.options.logFile ?? path.join(dataDir, '..', 'etcd.log'), 'a');
    this.child = spawn(this.options.binary ?? 'etcd', [
      '--name', name, '--data-dir', dataDir,
      '--listen-client-urls', this.url, '--advertise-client-urls', this.url,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', this.options.member?.initialCluster ?? `${name}=${peer}`,
      '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', this.options.compactionRetention ?? DEFAULT_COMPACTION_RETENTION,
      ...(this.options.quotaBackendBytes ? ['--quota-backend-bytes', String(this.options.quotaBackendBytes)] : []),
      ...tlsFlags(this.options.tls),
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child.on('exit', (code, signal) => {
      if (this.stopping) return;
      this.options.log?.(`etcd exited (${code ?? signal}); restarting in 1 s`);
      setTimeout(() => !this.stopping && this.spawn(), 1000);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** etcd's TLS flags: a certificate of etcd's CA is required of clients and of peers alike. */
function tlsFlags(tls: EtcdTlsFiles | undefined): string[] {
  if (!tls) return [];
  return [
    '--cert-file', tls.serverCertificate, '--key-file', tls.serverKey, '--client-cert-auth', '--trusted-ca-file', tls.caCertificate,
    '--peer-cert-file', tls.peerCertificate, '--peer-key-file', tls.peerKey, '--peer-client-cert-auth', '--peer-trusted-ca-file', tls.caCertificate,
  ];
}

export async function waitHealthy(url: string, timeoutMs: number, tls?: EtcdClientFiles): Promise<void> {
  // No breaker or retries: this loop is the retry, and a breaker opened by the refusals of an etcd
  // still starting would keep refusing for a while after it is up.
  const client = createEtcdClient(url, {
    dialTimeout: 1000, faultHandling: { host: () => noop, global: noop }, ...(tls ? { credentials: etcdClientCredentials(tls) } : {}),
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.get('/tide/health').string();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`etcd at ${url} not healthy after ${timeoutMs} ms: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    client.close();
  }
}
