/**
 * Wires one control plane: etcd (supervised or external), the HTTP API, the agents' gRPC endpoint,
 * and the controllers that run only while this instance is the elected leader.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import {
  ClusterPki, controlPlaneServerNames, ensureClusterPki, ensureEtcdPki, readCertificateFile, readKeyFile, type EtcdPkiLayout,
} from '@tide/pki';
import {
  CacheChange, ClusterCache, Etcd3, EtcdClientFiles, EtcdSupervisor, LeaderElection, NodeCertificates, NodeLeases, ObjectStore, PodCidrClaims, ServiceIpClaims,
  TokenStore, createEtcdClient, etcdClientCredentials,
} from '@tide/store';
import { isLost } from '@tide/control';
import { AgentGrpcServer } from './agent-service/agent.grpc';
import { ApiServer, startApiServer } from './api/api.server';
import { ControlPlaneConfig } from './config';
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
import { AutoscalerMetrics } from './monitoring/autoscaler.metrics';
import { registerServiceReplicaGauges, watchSchedulingLatency } from './monitoring/cluster.metrics';
import { instrumentStore } from './monitoring/store.instrumentation';
import { InsecureMetricsListener, listenInsecureMetrics } from './monitoring/metrics.insecure';
import { PodCidrAllocator } from './network/pod-cidr.allocator';
import { NodeEnrollment } from './node-identity/node.enrollment';
import { UsageCache } from './usage/usage.cache';
import { startClusterRegistry } from './registry/registry.start';
import { ImagePuller } from './registry/image.puller';
import type { ClusterRegistry } from './registry/cluster.registry';

/**
 * Replica changes that only move its status (bound, Running, ready) change what the service
 * controller writes (the Service's counts, a move finished once its replacement is ready), not
 * what it creates: a burst of them (10,000 replicas starting) is taken in every STATUS_KICK_MS
 * rather than by a pass after each, so passes do not crowd out binding.
 */
const STATUS_KICK_MS = 200;

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
  private etcd?: EtcdSupervisor;
  private client?: Etcd3;
  private api?: ApiServer;
  private grpc?: AgentGrpcServer;
  private endpoints?: EndpointsPublisher;
  private election?: LeaderElection;
  private runner?: LeaderRunner;
  private leases?: NodeLeases;
  private cache?: ClusterCache;
  private stopLatencyMetric?: () => void;
  private registry?: ClusterRegistry;
  private insecureMetrics?: InsecureMetricsListener;

  constructor(private readonly config: ControlPlaneConfig) {}

  async start(): Promise<void> {
    const pki = await this.ensurePki();
    const { hosts, tls } = await this.startEtcd();
    this.registry = await startClusterRegistry(this.config, pki, (line) => this.logger.log(line));
    this.client = createEtcdClient(hosts, tls ? { credentials: etcdClientCredentials(tls) } : {});
    const metrics = new ControlPlaneMetrics();
    const store = instrumentStore(new ObjectStore(this.client), metrics.etcdDuration);
    const usage = new UsageCache();
    const events = new EventRecorder(store, `control-plane/${this.config.id}`);
    this.leases = new NodeLeases(this.client, this.config.nodeLeaseSeconds);
    // Every instance keeps the cache: the agents' endpoint reads it too, not only the leader's loops.
    const cache = new ClusterCache(this.client, (line) => this.logger.warn(line));
    this.cache = cache;
    await cache.start();
    registerServiceReplicaGauges(metrics, cache);
    const scheduler = new SchedulerLoop(store, cache, events, metrics);
    // New replicas go to the scheduler as their transaction commits, not a watch round trip later.
    const services = new ServiceController(store, events, cache, (created) => {
      scheduler.offer(created);
      this.runner?.kickLoop('scheduler');
    });
    const nodes = new NodeLifecycleController(store, events, this.config.nodeGraceSeconds, cache);
    const drains = new DrainController(store, events, cache);
    const consolidation = new ConsolidationController(store, events, this.config.consolidation, cache);
    const autoscaler = new AutoscalerController(store, events, usage, new AutoscalerMetrics(metrics), cache);
    const serviceIps = new ServiceIpController(this.config.serviceCidr, store, cache, new ServiceIpClaims(this.client), events);
    const pulls = this.registry ? new ImagePuller(cache, this.registry, events, () => {
      if (!this.api) throw new Error('the API server is not up yet');
      return this.api.agentCredentials();
    }) : undefined;
    const runner = new LeaderRunner([
      { name: 'services', periodMs: 1000, run: () => services.sync(), kickedBy: serviceControllerKick },
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
    ]);
    this.runner = runner;
    // Certificate serials (joins, renewals) concern the agents' endpoint only, not the loops.
    cache.onChange((change) => change.kind !== 'Allocation' && change.kind !== 'NodeCertificates' && runner.kick(change));
    this.stopLatencyMetric = watchSchedulingLatency(metrics, cache, () => this.election?.isLeader ?? false);
    const podCidrs = new PodCidrAllocator(this.config.podCidr, new PodCidrClaims(this.client), this.config.nodeSlicePrefix);
    this.endpoints = new EndpointsPublisher(cache);
    await this.endpoints.start();
    let ca = pki.ca;
    const enrollment = new NodeEnrollment({
      ca: () => ca, records: new NodeCertificates(this.client), tokens: new TokenStore(this.client),
      serials: (node) => cache.nodeCertificateSerials(node), validityMs: this.config.nodeCertificateValidityMs, grpcListen: this.config.grpcListen,
    });
    this.grpc = new AgentGrpcServer({
      store, cache, leases: this.leases, events, podCidrs, endpoints: this.endpoints, usage, enrollment,
      heartbeatIntervalMs: Math.max(500, (this.config.nodeLeaseSeconds * 1000) / 3), serviceCidr: this.config.serviceCidr,
    });
    await this.grpc.listen(this.config.grpcListen, {
      ca: pki.ca.certificatePem, certificate: await readCertificateFile(pki.layout.serverCertificate), key: (await readKeyFile(pki.layout.serverKey)).toPem(),
    });
    this.election = new LeaderElection(this.client, this.config.id, {
      onElected: () => { this.logger.log(`${this.config.id} is the leader`); metrics.leader.set(1); serviceIps.forget(); runner.start(); },
      onLost: () => { this.logger.warn(`${this.config.id} lost leadership`); metrics.leader.set(0); runner.stop(); },
    });
    this.election.start();
    this.api = await startApiServer({
      cluster: { store, cache, metrics, usage, enrollment, registry: this.registry, isLeader: () => this.election?.isLeader ?? false, kick: () => runner.kick() },
      etcd: this.client, pki: pki.layout, auditLog: this.config.auditLog, listen: this.config.listen,
      renewPki: async () => void (ca = (await this.ensurePki()).ca),
      log: (line) => this.logger.log(line), warn: (line) => this.logger.warn(line), logger: ['error', 'warn', 'log'],
    });
    if (this.config.metricsInsecureListen) {
      this.insecureMetrics = await listenInsecureMetrics(this.config.metricsInsecureListen, metrics.registry);
      this.logger.warn(`/metrics also over plain HTTP without credentials on ${this.config.metricsInsecureListen.host}:${this.insecureMetrics.port} (--metrics-insecure-listen)`);
    }
    this.logger.log(`API on https://${this.config.listen.host}:${this.config.listen.port} (names ${this.api.names().join(', ')}), agents on ${this.config.grpcListen}, etcd ${hosts.join(',')}`);
  }

  /** The cluster's certificates (made by `tsctl up`; whatever is missing or due is made here, so a bare control plane is secure too). */
  private async ensurePki(): Promise<ClusterPki> {
    const grpcHost = this.config.grpcListen.replace(/:\d+$/, '');
    const pki = await ensureClusterPki({
      dir: this.config.pkiDir, serverNames: controlPlaneServerNames(os.hostname(), [this.config.listen.host, grpcHost]),
    });
    const made = Object.entries(pki.actions).filter(([, action]) => action !== 'kept');
    if (made.length > 0) this.logger.log(`certificates in ${pki.layout.dir}: ${made.map(([what, action]) => `${what} ${action}`).join(', ')}`);
    return pki;
  }

  /**
   * The supervised etcd runs with client and peer TLS on etcd's own CA (PKI/etcd, made here when
   * missing), the control plane's etcd client certificate the only one there is. An external etcd
   * given with https URLs is reached with `--etcd-*-file`, by default the same PKI/etcd files.
   */
  private async startEtcd(): Promise<{ hosts: string[]; tls?: EtcdClientFiles }> {
    const external = this.config.etcd ?? [];
    if (external.length > 0 && external.every((url) => url.startsWith('http://'))) {
      this.logger.warn(`etcd at ${external.join(',')}: plain HTTP, anyone who reaches it reads and writes the cluster's state; use https URLs`);
      return { hosts: external };
    }
    const { layout, issued } = await ensureEtcdPki({ pkiDir: this.config.pkiDir });
    if (issued.length > 0) this.logger.log(`etcd certificates in ${layout.dir}: ${issued.join(', ')} issued`);
    if (external.length > 0) return { hosts: external, tls: this.externalEtcdFiles(layout) };
    this.etcd = new EtcdSupervisor({
      dataDir: path.join(this.config.stateDir, 'etcd'),
      clientPort: this.config.etcdPort,
      logFile: path.join(this.config.stateDir, 'etcd.log'),
      log: (line) => this.logger.warn(line),
      tls: layout,
    });
    await this.etcd.start();
    return { hosts: [this.etcd.url], tls: layout };
  }

  private externalEtcdFiles(layout: EtcdPkiLayout): EtcdClientFiles {
    const { caFile, certFile, keyFile } = this.config.etcdTls;
    return { caCertificate: caFile ?? layout.caCertificate, clientCertificate: certFile ?? layout.clientCertificate, clientKey: keyFile ?? layout.clientKey };
  }

  async stop(): Promise<void> {
    this.runner?.stop();
    await this.election?.resign();
    this.stopLatencyMetric?.();
    await this.cache?.stop();
    await this.api?.close();
    await this.endpoints?.close();
    await this.grpc?.close();
    this.leases?.close();
    this.client?.close();
    await this.registry?.stop();
    await this.insecureMetrics?.close();
    await this.etcd?.stop();
  }
}
