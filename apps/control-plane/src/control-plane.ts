/**
 * Wires one control plane: etcd (supervised or external), the HTTP API, the agents' gRPC endpoint,
 * and the controllers that run only while this instance is the elected leader.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import {
  ClusterPki, LOCAL_ETCD_NAMES, controlPlaneServerNames, ensureClusterPki, ensureEtcdPki, etcdPkiLayout, readCertificateFile, readKeyFile, type EtcdPkiLayout,
} from '@tide/pki';
import {
  CacheChange, ClusterCache, ConfigCache, ConfigStore, Etcd3, EtcdClientFiles, EtcdCluster, EtcdHealth, EtcdMaintenance, LeaderElection, LeaseWindows, NodeCertificates, NodeLeases,
  ObjectStore, PodCidrClaims, ServiceIpClaims, TlsEtcdClient, TokenStore, createEtcdClient, createTlsEtcdClient, ensureClusterIdentity,
} from '@tide/store';
import { isLost } from '@tide/control';
import { AgentGrpcServer } from './agent-service/agent.grpc';
import { ApiServer, startApiServer } from './api/api.server';
import { ControlPlaneConfig, heartbeatIntervalMs } from './config';
import { HostAnswers } from './controllers/host.probe';
import { AutoscalerController } from './controllers/autoscaler.controller';
import { ConsolidationController } from './controllers/consolidation.controller';
import { DrainController } from './controllers/drain.controller';
import { EventRecorder } from './controllers/events.recorder';
import { EndpointsPublisher } from './endpoints/endpoints.publisher';
import { LeaderRunner } from './controllers/leader.runner';
import { NodeLifecycleController } from './controllers/node-lifecycle.controller';
import { SchedulerLoop } from './controllers/scheduler.loop';
import { ServiceController } from './controllers/service.controller';
import { ServiceIpController } from './controllers/service-ip.controller';
import { ControlPlaneMetrics } from './metrics';
import { ConfigController } from './controllers/config.controller';
import type { ConfigContext } from './api/cluster.context';
import { loadOrCreateKeyRing } from './secrets/encryption.keys';
import { AutoscalerMetrics } from './monitoring/autoscaler.metrics';
import { registerServiceReplicaGauges, watchSchedulingLatency } from './monitoring/cluster.metrics';
import { instrumentStore } from './monitoring/store.instrumentation';
import { InsecureMetricsListener, listenInsecureMetrics } from './monitoring/metrics.insecure';
import { PodCidrAllocator } from './network/pod-cidr.allocator';
import { CertificateRotation, type RenewedCertificate, type WatchedCertificate } from './pki/certificate.rotation';
import { NodeEnrollment } from './node-identity/node.enrollment';
import { nodeAutoscaler } from './nodes/node-autoscaler.setup';
import { UsageCache } from './usage/usage.cache';
import { PeerUsage } from './peers/peer.usage';
import { startClusterRegistry } from './registry/registry.start';
import { ImagePuller } from './registry/image.puller';
import { WarmAheadController, agentWarmPost } from './controllers/warm-ahead.controller';
import { DEFAULT_NODE_LEAD_SECONDS } from './nodes/node-pool.flags';
import type { ClusterRegistry } from './registry/cluster.registry';

/**
 * Replica changes that only move its status (bound, Running, ready) change what the service
 * controller writes (the Service's counts, a move finished once its replacement is ready), not
 * what it creates: a burst of them (10,000 replicas starting) is taken in every STATUS_KICK_MS
 * rather than by a pass after each, so passes do not crowd out binding.
 */
const STATUS_KICK_MS = 200;

/** How often every instance looks at etcd's alarms (and the leader at its free space). */
const MAINTENANCE_PERIOD_MS = 5000;

function serviceControllerKick(change: CacheChange): boolean | number {
  if (change.kind === 'Service' || change.kind === 'resync') return true;
  if (change.kind !== 'Replica') return false;
  const { previous, current } = change;
  if (!previous || !current || Boolean(previous.metadata.deletionTimestamp) !== Boolean(current.metadata.deletionTimestamp)) return true;
  // A replica lost with its node is replaced at once.
  return isLost(current) && !isLost(previous) ? true : STATUS_KICK_MS;
}

export class ControlPlane {
  private readonly logger = new Logger('ControlPlane');
  private etcd?: EtcdCluster;
  private client?: Etcd3;
  private api?: ApiServer;
  private grpc?: AgentGrpcServer;
  private endpoints?: EndpointsPublisher;
  private election?: LeaderElection;
  private runner?: LeaderRunner;
  private leases?: NodeLeases;
  private cache?: ClusterCache;
  private configCache?: ConfigCache;
  private stopLatencyMetric?: () => void;
  private registry?: ClusterRegistry;
  private insecureMetrics?: InsecureMetricsListener;
  private etcdTls?: TlsEtcdClient;
  private rotation?: CertificateRotation;
  /** The cluster CA (renewal passes read it again; it is itself replaced by hand only). */
  private ca?: ClusterPki['ca'];
  private health?: EtcdHealth;
  private memberClients: Etcd3[] = [];
  /** With several members over TLS: each member's client, reloaded with the main one when the client certificate is renewed. */
  private memberTls: TlsEtcdClient[] = [];
  private maintenanceTimer?: NodeJS.Timeout;
  private peers?: PeerUsage;

  constructor(private readonly config: ControlPlaneConfig) {}

  async start(): Promise<void> {
    const pki = await this.ensurePki();
    const { hosts, tls } = await this.startEtcd();
    this.registry = await startClusterRegistry(this.config, pki, (line) => this.logger.log(line));
    this.etcdTls = tls ? createTlsEtcdClient(hosts, tls) : undefined;
    this.client = this.etcdTls?.client ?? createEtcdClient(hosts);
    // Made by the first control plane on this store: agents refuse the sets of any other (a wiped store).
    const clusterId = await ensureClusterIdentity(this.client, randomUUID());
    this.logger.log(`cluster identity ${clusterId}`);
    const metrics = new ControlPlaneMetrics();
    const { store, health, eventLeases, maintenance } = this.connectStore(this.client, hosts, tls, metrics);
    const usage = new UsageCache();
    const events = new EventRecorder(store, `control-plane/${this.config.id}`, eventLeases);
    this.leases = new NodeLeases(this.client, this.config.nodeLeaseSeconds);
    // Every instance keeps the cache: the agents' endpoint reads it too, not only the leader's loops.
    const cache = new ClusterCache(this.client, (line) => this.logger.warn(line));
    this.cache = cache;
    await cache.start();
    const configs = await this.startConfigs(this.client, health);
    registerServiceReplicaGauges(metrics, cache);
    const scheduler = new SchedulerLoop(store, cache, events, metrics);
    // Fresh replicas are placed before they are stored and created bound; those left Pending go
    // to the scheduler as their transaction commits, not a watch round trip later.
    const services = new ServiceController(store, events, cache, (created) => {
      scheduler.offer(created);
      this.runner?.kickLoop('scheduler');
    }, (fresh) => scheduler.createPlaced(fresh));
    const grace = { seconds: this.config.nodeGraceSeconds, agentDownSeconds: this.config.agentDownGraceSeconds };
    const nodes = new NodeLifecycleController(store, events, grace, cache, (line) => this.logger.warn(line), new HostAnswers(), () => this.runner?.kickLoop('nodes'));
    const drains = new DrainController(store, events, cache);
    const consolidation = new ConsolidationController(store, events, this.config.consolidation, cache);
    // With a node pool, a scale-in may free its nodes sooner (libs/autoscaler node.release.ts); the node autoscaler says which it would hand back.
    const autoscaler = new AutoscalerController(store, events, usage, new AutoscalerMetrics(metrics), cache, Date.now,
      this.config.nodePool ? (node) => nodeScaler?.handsBack(node) ?? false : undefined);
    const serviceIps = new ServiceIpController(this.config.serviceCidr, store, cache, new ServiceIpClaims(this.client), events);
    const pulls = this.registry ? new ImagePuller(cache, this.registry, events, () => {
      if (!this.api) throw new Error('the API server is not up yet');
      return this.api.agentCredentials();
    }) : undefined;
    this.ca = pki.ca;
    const tokens = new TokenStore(this.client);
    const enrollment = new NodeEnrollment({
      ca: () => this.ca ?? pki.ca, records: new NodeCertificates(this.client), tokens,
      serials: (node) => cache.nodeCertificateSerials(node), validityMs: this.config.nodeCertificateValidityMs, grpcListen: this.config.grpcListen,
    });
    // Its join tokens and revocations go through the node enrollment; the loop runs only on the leader.
    const nodeScaler = nodeAutoscaler(this.config, {
      store, events, cache, tokens, enrollment, forecast: (service, leadMs) => autoscaler.forecastReplicas(service, leadMs), log: (line) => this.logger.log(line),
    });
    // Replicas expected within the lead start warm on the nodes that will take them (warm-ahead.controller.ts).
    const warmAhead = new WarmAheadController(cache, events, (this.config.nodePool?.leadSeconds ?? DEFAULT_NODE_LEAD_SECONDS) * 1000, agentWarmPost(() => {
      if (!this.api) throw new Error('the API server is not up yet');
      return this.api.agentCredentials();
    }), (service, leadMs) => autoscaler.forecastReplicas(service, leadMs));
    const configHashes = new ConfigController(store, cache, (key) => configs.cache.get(key), configs.digestKey, (line) => this.logger.log(line));
    const runner = new LeaderRunner([
      { name: 'services', periodMs: 1000, run: () => services.sync(), kickedBy: serviceControllerKick },
      { name: 'config hashes', periodMs: 1000, run: () => configHashes.sync(), kickedBy: (c) => c.kind === 'Service' || c.kind === 'resync' },
      { name: 'service-ips', periodMs: 1000, run: () => serviceIps.sync() },
      // A cycle places everything pending when it starts: the next one starts as soon as this one is
      // done (no coalescing delay between cycles), with whatever was created meanwhile.
      { name: 'scheduler', periodMs: 500, run: () => scheduler.cycle(), kickDelayMs: 0 },
      // Its input is the nodes and their liveness keys, not the replicas (it reads those only to evict).
      { name: 'nodes', periodMs: 1000, run: () => nodes.sync(), kickedBy: (c) => c.kind === 'Node' || c.kind === 'Lease' || c.kind === 'resync' },
      { name: 'drain', periodMs: 1000, run: () => drains.sync() },
      // Not kicked: a node must stay the candidate for --consolidation-delay-seconds anyway, and a pass
      // (a what-if placement of the lightest nodes' replicas) is too dear to repeat on every change.
      { name: 'consolidation', periodMs: 2000, run: () => consolidation.sync(), kicked: false },
      { name: 'autoscaler', periodMs: 1000, run: () => autoscaler.sync(), kicked: false },
      ...(pulls ? [{ name: 'image pulls', periodMs: 1000, run: () => pulls.sync() }] : []),
      { name: 'warm ahead', periodMs: 2000, run: () => warmAhead.sync(), kicked: false },
      ...(this.config.nodePool ? [{ name: 'node autoscaler', periodMs: 2000, run: async () => nodeScaler?.sync(), kicked: false }] : []),
    ]);
    this.runner = runner;
    // On every instance, not in the leader's loops: NOSPACE refuses lease grants, so a control plane
    // that lost leadership then could not win it back to recover (etcd.maintenance.ts).
    this.maintenanceTimer = setInterval(() => void maintenance.pass(Date.now(), this.election?.isLeader ?? false)
      .catch((error: Error) => this.logger.warn(`etcd maintenance: ${error.message}`)), MAINTENANCE_PERIOD_MS);
    // Certificate serials (joins, renewals) concern the agents' endpoint only, not the loops.
    cache.onChange((change) => change.kind !== 'Allocation' && change.kind !== 'NodeCertificates' && runner.kick(change));
    configs.cache.onChange(() => runner.kickLoop('config hashes'));
    this.stopLatencyMetric = watchSchedulingLatency(metrics, cache, () => this.election?.isLeader ?? false);
    const podCidrs = new PodCidrAllocator(this.config.podCidr, new PodCidrClaims(this.client), this.config.nodeCidrMaskSize);
    this.endpoints = new EndpointsPublisher(cache);
    await this.endpoints.start();
    // Every instance holds every agent's usage: each forwards what its agents report to the others.
    this.peers = new PeerUsage({
      client: this.client, id: this.config.id, address: this.config.grpcAdvertise, usage, credentials: await this.clientCredentials(pki), metrics,
      log: (line) => this.logger.log(line), warn: (line) => this.logger.warn(line),
    });
    this.grpc = new AgentGrpcServer({
      store, cache, leases: this.leases, events, podCidrs, endpoints: this.endpoints, usage, enrollment, forwarder: this.peers.forwarder, usageReports: metrics.usageReports,
      heartbeatIntervalMs: heartbeatIntervalMs(this.config.nodeLeaseSeconds), serviceCidr: this.config.serviceCidr, podNetwork: this.config.podNetwork,
      clusterId, configs: configs.cache,
    });
    await this.grpc.listen(this.config.grpcListen, {
      ca: pki.ca.certificatePem, certificate: await readCertificateFile(pki.layout.serverCertificate), key: (await readKeyFile(pki.layout.serverKey)).toPem(),
    });
    await this.peers.start();
    this.election = new LeaderElection(this.client, this.config.id, {
      onElected: () => { this.logger.log(`${this.config.id} is the leader`); metrics.leader.set(1); serviceIps.forget(); runner.start(); },
      onLost: () => { this.logger.warn(`${this.config.id} lost leadership`); metrics.leader.set(0); runner.stop(); },
    });
    this.election.start();
    this.api = await startApiServer({
      cluster: {
        store, cache, metrics, usage, enrollment, registry: this.registry, etcdHealth: health, eventLeases, configs,
        isLeader: () => this.election?.isLeader ?? false, kick: () => runner.kick(),
      },
      etcd: this.client, pki: pki.layout, auditLog: this.config.auditLog, listen: this.config.listen,
      log: (line) => this.logger.log(line), warn: (line) => this.logger.warn(line), logger: ['error', 'warn', 'log'],
    });
    await this.startRotation(pki);
    if (this.config.metricsInsecureListen) {
      this.insecureMetrics = await listenInsecureMetrics(this.config.metricsInsecureListen, metrics.registry);
      this.logger.warn(`/metrics also over plain HTTP without credentials on ${this.config.metricsInsecureListen.host}:${this.insecureMetrics.port} (--metrics-insecure-listen)`);
    }
    this.logger.log(`API on https://${this.config.listen.host}:${this.config.listen.port} (names ${this.api.names().join(', ')}), agents on ${this.config.grpcListen}, etcd ${hosts.join(',')}`);
  }

  /**
   * ConfigMaps and Secrets: the key file (made on the first start), the store that seals Secrets
   * with it, and the cache every instance keeps (the agents' endpoint sends each node its share).
   */
  private async startConfigs(client: Etcd3, health: EtcdHealth): Promise<ConfigContext> {
    const file = this.config.encryptionKeyFile;
    const loaded = loadOrCreateKeyRing(file);
    let ring = loaded.ring;
    this.logger.log(`${loaded.created ? 'made the Secrets encryption key file' : 'Secrets encryption keys from'} ${file}: new writes sealed with key ${ring.cipher.writer}`);
    const store = new ConfigStore(client, ring.cipher, health);
    const cache = new ConfigCache(client, store, (line) => this.logger.warn(line));
    this.configCache = cache;
    await cache.start();
    return {
      store, cache, digestKey: () => ring.digestKey,
      reloadKeys: () => {
        ring = loadOrCreateKeyRing(file).ring;
        store.cipher = ring.cipher;
        this.logger.log(`Secrets encryption keys read again from ${file}: new writes sealed with key ${ring.cipher.writer}`);
        return ring.cipher.writer;
      },
    };
  }

  /**
   * Renews every certificate this control plane keeps, each at two thirds of its lifetime, without a
   * restart (pki/certificate.rotation.ts): the API's and the agents' endpoint's serving certificate,
   * its client certificate, etcd's (the supervised etcd's, or PKI/etcd's client certificate towards
   * an external one) and the embedded registry's.
   */
  private async startRotation(pki: ClusterPki): Promise<void> {
    const etcd = etcdPkiLayout(this.config.pkiDir);
    const managesEtcd = this.etcdTls !== undefined && this.config.etcdTls.certFile === undefined;
    const watched: WatchedCertificate[] = [
      { what: 'API and gRPC serving certificate', file: pki.layout.serverCertificate },
      { what: 'control plane client certificate', file: pki.layout.clientCertificate },
      ...(managesEtcd ? [{ what: 'etcd client certificate', file: etcd.clientCertificate }] : []),
      ...(this.etcd ? [{ what: 'etcd serving certificate', file: etcd.serverCertificate }, { what: 'etcd peer certificate', file: etcd.peerCertificate }] : []),
      ...(this.registry?.certificateFiles() ?? []),
    ];
    this.rotation = new CertificateRotation({
      certificates: () => watched,
      renew: async () => {
        this.ca = (await this.ensurePki()).ca;
        if (managesEtcd) await this.ensureEtcdPki();
        await this.registry?.renewCertificates(this.ca);
      },
      onRenewed: (renewed) => this.useRenewed(pki, renewed),
      log: (line) => this.logger.log(line), warn: (line) => this.logger.warn(line),
    });
    await this.rotation.start();
  }

  /** Hands renewed files to whoever serves or presents them (etcd reads its own at each new connection). */
  private async useRenewed(pki: ClusterPki, renewed: RenewedCertificate[]): Promise<void> {
    const files = new Set(renewed.map((r) => r.file));
    if (files.has(pki.layout.serverCertificate) || files.has(pki.layout.clientCertificate)) await this.api?.reloadTls();
    if (files.has(pki.layout.serverCertificate)) {
      this.grpc?.useTls({
        ca: (await readCertificateFile(pki.layout.caCertificate)), certificate: await readCertificateFile(pki.layout.serverCertificate),
        key: (await readKeyFile(pki.layout.serverKey)).toPem(),
      });
    }
    if (files.has(pki.layout.clientCertificate)) this.peers?.useCredentials(await this.clientCredentials(pki));
    if (files.has(etcdPkiLayout(this.config.pkiDir).clientCertificate)) {
      this.etcdTls?.reload();
      for (const member of this.memberTls) member.reload();
    }
  }

  /** This instance's client certificate and the CA, as it presents them to the other control planes. */
  private async clientCredentials(pki: ClusterPki): Promise<{ ca: string; certificate: string; key: string }> {
    const { caCertificate, clientCertificate, clientKey } = pki.layout;
    return { ca: await readCertificateFile(caCertificate), certificate: await readCertificateFile(clientCertificate), key: (await readKeyFile(clientKey)).toPem() };
  }

  /** Where the supervised etcd listens: where the API does (a LAN address for simulated or real hosts), loopback for a wildcard. */
  private etcdHost(): string {
    return ['0.0.0.0', '::', 'localhost'].includes(this.config.listen.host) ? '127.0.0.1' : this.config.listen.host;
  }

  private async ensureEtcdPki(): Promise<EtcdPkiLayout> {
    const host = this.etcdHost();
    const names = host === '127.0.0.1' ? LOCAL_ETCD_NAMES : { dnsNames: LOCAL_ETCD_NAMES.dnsNames, ipAddresses: [...LOCAL_ETCD_NAMES.ipAddresses, host] };
    const { layout, issued } = await ensureEtcdPki({ pkiDir: this.config.pkiDir, names, validityMs: this.config.certificateValidityMs });
    if (issued.length > 0) this.logger.log(`etcd certificates in ${layout.dir}: ${issued.join(', ')} issued`);
    return layout;
  }

  /**
   * The store and its upkeep: etcd's health (requests fail fast, nothing sent, while etcd is
   * unreachable; /readyz reports it), the leases Events expire with, NOSPACE recovery and
   * defragmentation. Each member of several gets a client of its own: probed and defragmented one by one.
   */
  private connectStore(client: Etcd3, hosts: string[], tls: EtcdClientFiles | undefined, metrics: ControlPlaneMetrics) {
    this.memberTls = hosts.length > 1 && tls ? hosts.map((host) => createTlsEtcdClient(host, tls)) : [];
    this.memberClients = hosts.length > 1 ? (tls ? this.memberTls.map((member) => member.client) : hosts.map((host) => createEtcdClient(host))) : [];
    const health = new EtcdHealth(client, undefined, undefined, this.memberClients);
    this.health = health;
    health.start();
    const maintenance = new EtcdMaintenance(client, health, {
      quotaBytes: this.config.etcdUpkeep.quotaBytes, log: (line) => this.logger.warn(line), ...(this.memberClients.length ? { members: this.memberClients } : {}),
    });
    return {
      store: instrumentStore(new ObjectStore(client, { health }), metrics.etcdDuration), health, maintenance,
      eventLeases: new LeaseWindows(client, this.config.etcdUpkeep.eventTtlSeconds),
    };
  }

  /** The cluster's certificates (made by `tsctl up`; whatever is missing or due is made here, so a bare control plane is secure too). */
  private async ensurePki(): Promise<ClusterPki> {
    const [grpcHost, advertisedHost] = [this.config.grpcListen, this.config.grpcAdvertise].map((address) => address.replace(/:\d+$/, ''));
    const pki = await ensureClusterPki({
      dir: this.config.pkiDir, serverNames: controlPlaneServerNames(os.hostname(), [this.config.listen.host, grpcHost, advertisedHost]),
      validityMs: this.config.certificateValidityMs,
    });
    const made = Object.entries(pki.actions).filter(([, action]) => action !== 'kept');
    if (made.length > 0) this.logger.log(`certificates in ${pki.layout.dir}: ${made.map(([what, action]) => `${what} ${action}`).join(', ')}`);
    return pki;
  }

  /**
   * The supervised etcd (`--etcd-members` of them) runs with client and peer TLS on etcd's own CA (PKI/etcd, made here when
   * missing), the control plane's etcd client certificate the only one there is. An external etcd
   * given with https URLs is reached with `--etcd-*-file`, by default the same PKI/etcd files.
   */
  private async startEtcd(): Promise<{ hosts: string[]; tls?: EtcdClientFiles }> {
    const external = this.config.etcd ?? [];
    if (external.length > 0 && external.every((url) => url.startsWith('http://'))) {
      this.logger.warn(`etcd at ${external.join(',')}: plain HTTP, anyone who reaches it reads and writes the cluster's state; use https URLs`);
      return { hosts: external };
    }
    const layout = await this.ensureEtcdPki();
    if (external.length > 0) return { hosts: external, tls: this.externalEtcdFiles(layout) };
    this.etcd = new EtcdCluster({
      dataDir: path.join(this.config.stateDir, 'etcd'), host: this.etcdHost(),
      etcdPort: this.config.etcdPort,
      members: this.config.etcdMembers,
      logFile: path.join(this.config.stateDir, 'etcd.log'),
      log: (line) => this.logger.warn(line),
      tls: layout,
      compactionRetention: this.config.etcdUpkeep.compactionRetention,
      quotaBackendBytes: this.config.etcdUpkeep.quotaBytes,
    });
    await this.etcd.start();
    return { hosts: this.etcd.urls, tls: layout };
  }

  private externalEtcdFiles(layout: EtcdPkiLayout): EtcdClientFiles {
    const { caFile, certFile, keyFile } = this.config.etcdTls;
    return { caCertificate: caFile ?? layout.caCertificate, clientCertificate: certFile ?? layout.clientCertificate, clientKey: keyFile ?? layout.clientKey };
  }

  async stop(): Promise<void> {
    this.rotation?.stop();
    clearInterval(this.maintenanceTimer);
    this.runner?.stop();
    await this.election?.resign();
    this.stopLatencyMetric?.();
    await this.cache?.stop();
    await this.configCache?.stop();
    await this.api?.close();
    await this.endpoints?.close();
    await this.peers?.stop();
    await this.grpc?.close();
    this.leases?.close();
    this.health?.stop();
    for (const member of this.memberClients) member.close();
    this.client?.close();
    await this.registry?.stop();
    await this.insecureMetrics?.close();
    await this.etcd?.stop();
  }
}
