/** Wires one node agent: runtime, reconciler, control-plane client, HTTP endpoint and metrics. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { caPin } from '@tide/pki';
import { NetworkMode, ServiceAddress, ServiceEndpoints } from '@tide/api';
import {
  ContainerRuntime, ImageService, ImageStore, LinuxRuntime, RuntimeError, createImageService, ensureBusyboxImage, ensureNodeImage,
} from '@tide/runtime';
import { AgentConfig, allocatableOf, machineResources } from './config/agent.config';
import { createAgentMetrics } from './agent.metrics';
import { ClusterFence } from './control-plane/cluster.fence';
import { ImageCollector } from './images/image.collector';
import { ControlPlaneClient } from './control-plane/control-plane.client';
import { IsolationFence, Peer } from './control-plane/isolation.fence';
import { NodeCredentials, NodeIdentityOptions, ensureNodeIdentity, rotateNodeCertificate } from './identity/node.identity';
import { statusReport } from './control-plane/status.report';
import { AgentHttpServer, startAgentHttp } from './http/agent.http';
import { ReplicaLog } from './http/log.routes';
import { AgentAuth } from './http/agent.auth';
import { AgentTls, loadAgentTls, reloadOnChange } from './http/agent.tls';
import { rotateServingCertificate } from './identity/serving.rotation';
import { InsecureMetricsServer, startInsecureMetrics } from './http/metrics.insecure';
import { controlPlaneTokenReview } from './http/token.review';
import { registerResourceMetrics } from './metrics/resource.metrics';
import { USAGE_REPORT_INTERVAL_MS, UsageReporter } from './metrics/usage.reporter';
import { AgentNetwork } from './network/agent.network';
import { Prober } from './probes/prober';
import { probeCheck } from './probes/probe.check';
import { probedContainers, verdictFor } from './probes/replica.probes';
import { BalancerClient } from './balancer/balancer.client';
import { BalancerMetrics } from './proxy/balancer.metrics';
import { DiskMonitor, reclaimDisk } from './disk/disk.monitor';
import { EphemeralStorageGuard, evictionVerdict, limitedContainers } from './disk/ephemeral.storage';
import { planPublishedPorts } from './proxy/publish.plan';
import { containerId, replicaKey } from './reconcile/container-spec.builder';
import { LogFiles } from './logs/log.files';
import { LogRotator } from './logs/log.rotator';
import { Reconciler } from './reconcile/reconciler';
import { buildPuller } from './registry/registry.images';
import { ReplicaStateFile } from './reconcile/replica.state-file';
import { ServiceNetwork } from './service-ip/service.network';
import { ConfigVolumes } from './volumes/config.volumes';
import { NodeVolumes } from './volumes/node.volumes';

/** Status changes come in bursts (a batch of starts): at most one report per this many ms. */
const REPORT_COALESCE_MS = 50;
/**
 * And at most one pass over every replica (probes to run, the balancer's local readiness, the images
 * in use) per this many ms: each is O(replicas), and a 1,000-replica start makes thousands of
 * changes, one pass each would make the burst's cost grow with the square of its size.
 */
const CHANGE_COALESCE_MS = 20;
/** How long stop() waits for the warm pool's inits to be gone. */
const POOL_CLOSE_MS = 2000;

export class NodeAgent {
  private client?: ControlPlaneClient;
  private server?: AgentHttpServer;
  private reconciler?: Reconciler;
  private reportTimer?: NodeJS.Timeout;
  private changeTimer?: NodeJS.Timeout;
  private network?: AgentNetwork;
  /** The node's balancer process (balancer/): the published ports live there, and outlive this agent. */
  private balancer?: BalancerClient;
  private prober?: Prober;
  /** The last endpoints the control plane pushed (kept through its outages). */
  /** Undefined until the first push: an agent that knows no endpoints yet publishes nothing and gives up no socket. */
  private endpoints?: ServiceEndpoints[];
  private serviceAddresses: ServiceAddress[] = [];
  private publishing: Promise<void> = Promise.resolve();
  private conflicts = '';
  private baseImages: Promise<void> = Promise.resolve();
  private runtime?: LinuxRuntime;
  private usageReporter?: UsageReporter;
  private insecureMetrics?: InsecureMetricsServer;
  private stopTlsReload?: () => void;
  private stopRotation?: () => void;
  private services?: ServiceNetwork;
  private logs?: LogRotator;
  private imageCollector?: ImageCollector;
  private disk?: DiskMonitor;
  private storage?: EphemeralStorageGuard;
  private isolation?: IsolationFence;
  /** The replicas' ConfigMaps and Secrets: variables and volumes (volumes/config.volumes.ts). */
  private configVolumes?: ConfigVolumes;
  /** emptyDir, hostPath and named local volumes (volumes/node.volumes.ts). */
  private nodeVolumes?: NodeVolumes;
  /** Every other node's agent, from the last desired set: who to ask whether this host is cut off. */
  private peers: Peer[] = [];

  constructor(
    private readonly config: AgentConfig,
    // Timed to the millisecond: the log is how one follows a start through the agent (apply bench's breakdown).
    private readonly log: (line: string) => void = (line) => console.log(`${new Date().toISOString()} node-agent ${config.name}: ${line}`),
  ) {}

  async start(): Promise<void> {
    const { config } = this;
    const fenceFile = path.join(config.stateDir, 'cluster.json');
    // First: a wrong --ca-hash or an expired join token fails before anything else is touched.
    const identity: NodeIdentityOptions = {
      nodeName: config.name, stateDir: config.stateDir, ...(config.join ? { join: config.join } : {}), log: this.log,
      serving: { address: config.address, certificate: config.tls.certificate, key: config.tls.key },
      // A join is the operator's word that the node belongs to the cluster joined: its fence starts afresh.
      onJoined: () => fs.rmSync(fenceFile, { force: true }),
    };
    const credentials = await ensureNodeIdentity(identity);
    let nodeCredentials = credentials;
    const logDir = path.join(config.stateDir, 'logs');
    // 0700 from the top: the state dir leads to every container's upperdir (CVE-2021-41091 class).
    for (const dir of [config.stateDir, logDir]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
    }
    // Read before anything runs: an unreadable fence file stops the agent rather than trusting anyone.
    const fence = new ClusterFence(fenceFile, caPin(credentials.ca), this.log);
    await this.prepareImages();
    // Created before registering (containers are adopted first): bridge settings come with the pod CIDR.
    const network = new AgentNetwork(config.stateDir, config.address, this.log);
    this.network = network;
    // Before the runtime: every container init's mount namespace is a copy made when it boots, and
    // must already hold the secret volumes' tmpfs to bind from it.
    const nodeVolumes = new NodeVolumes({ stateDir: config.stateDir });
    this.nodeVolumes = nodeVolumes;
    try {
      nodeVolumes.start();
    } catch (error) {
      this.log(`warning: ${(error as Error).message}`); // said again at the first memory emptyDir
    }
    const configVolumes = new ConfigVolumes({ stateDir: config.stateDir, nodeVolumes, log: this.log });
    configVolumes.start();
    this.configVolumes = configVolumes;
    this.runtime = new LinuxRuntime({
      stateDir: config.stateDir, imageDir: config.imageDir, warmPool: config.warmPool, maxWarmPool: config.warmPoolMax, bridge: () => network.current(),
      // Every agent of this machine (the loopback and netns layouts) shares the containers' parent
      // group: it weighs the machine's allocatable CPU, whatever share of it this node has.
      containersCpuMillis: allocatableOf(machineResources()).cpuMillis,
    });
    const linuxRuntime = this.runtime;
    const runtime: ContainerRuntime = linuxRuntime;
    const metrics = createAgentMetrics(config.name, () => this.reconciler);
    const balancer = new BalancerClient({
      stateDir: config.stateDir, address: config.address, proxy: config.proxy, log: this.log,
      // A restarted balancer listens for the service IPs at new ports: the rules follow.
      onConnected: () => this.publishSoon(),
    });
    this.balancer = balancer;
    balancer.start();
    // Every count is the balancer process's (published ports and service IPs), fetched over its channel.
    const traffic = new BalancerMetrics(balancer);
    traffic.register(metrics.registry);
    const services = new ServiceNetwork({
      stateDir: config.stateDir, upstreams: config.dnsUpstreams, log: this.log,
      listeners: { apply: (address, plans) => balancer.serviceIps(address, plans) },
    });
    this.services = services;
    const prober = new Prober({ check: probeCheck(runtime), onChange: (key) => this.reconciler?.probesChanged(key) });
    this.prober = prober;
    const logs = new LogRotator(new LogFiles(logDir, config.logLimits), () => this.runningContainerIds(), this.log);
    this.logs = logs;
    const storage: EphemeralStorageGuard = new EphemeralStorageGuard({
      containers: () => [...limitedContainers(this.reconciler?.records.values() ?? []), ...nodeVolumes.measured(this.reconciler?.records.values() ?? [])], onExceeded: (key) => this.reconciler?.probesChanged(key), log: this.log, intervalMs: config.disk.intervalMs,
    });
    this.storage = storage;
    const reconciler = new Reconciler({
      runtime, logDir, logs, configs: configVolumes, state: new ReplicaStateFile(path.join(config.stateDir, 'replicas.json')),
      onChange: () => this.changed(), onRestart: (record) => metrics.recordRestart(record), log: this.log,
      probes: (record) => evictionVerdict(storage, record) ?? verdictFor(prober, record), dns: (namespace) => services.containerDns(namespace),
    });
    this.reconciler = reconciler;
    // Before adoption: what a start or removal cut short by a crash left is not a container.
    const swept = await this.runtime.sweepLeftovers();
    if (swept.length > 0) this.log(`swept what an earlier agent left half done: ${swept.join('; ')}`);
    await reconciler.adopt();
    configVolumes.sweep(new Set([...reconciler.records.values()].flatMap((r) => (r.container ? [r.container.id] : []))));
    logs.start();
    const resources = registerResourceMetrics({
      registry: metrics.registry, runtime, records: () => reconciler.records.values(), paths: [config.stateDir, config.imageDir],
    });
    const scratchDir = path.join(config.stateDir, 'scratch');
    const images = createImageService({ imageDir: config.imageDir, runtime });
    const imageStore = new ImageStore(config.imageDir);
    const collector = new ImageCollector({
      store: imageStore, nodeName: config.name, policy: config.imageGc, log: this.log,
      inUse: () => [...reconciler.records.values()].flatMap((r) => [r.assignment?.template.image, r.container?.spec.image].filter((i): i is string => !!i)),
    });
    this.imageCollector = collector;
    collector.start();
    this.disk = new DiskMonitor({ stateDir: config.stateDir, imageDir: config.imageDir, ...config.disk, log: this.log, reclaim: () => reclaimDisk(collector, logs.files) });
    this.disk.start();
    storage.start();
    fs.rmSync(scratchDir, { recursive: true, force: true }); // uploads of requests cut short by a crash
    let tls: AgentTls = await loadAgentTls(config.tls);
    /** The container of a replica this node runs; NotFound otherwise. */
    const here = (namespace: string, name: string): string => {
      if (!reconciler.records.get(replicaKey(namespace, name))?.container) {
        throw new RuntimeError('NotFound', `replica ${namespace}/${name} is not running on this node`);
      }
      return containerId(namespace, name);
    };
    const auth = new AgentAuth(controlPlaneTokenReview({ apiServer: `https://${config.apiServer}`, caPem: () => tls.caPem }));
    this.server = await startAgentHttp({
      tls, auth,
      address: config.address, port: config.port, registry: metrics.registry, scratchDir, expireSamples: resources.expire,
      logPath: (namespace, name) => (reconciler.records.has(replicaKey(namespace, name)) ? replicaLog(logs, containerId(namespace, name)) : undefined),
      health: () => ({ ok: true, text: this.client?.isConnected() ? 'ok' : 'ok (not connected to the control plane)' }),
      images: this.imagesAfterBaseImages(images), imageStore, imageCollector: collector,
      ...(config.warmPool > 0 ? { warm: (network: NetworkMode, starts: number) => this.runtime?.expectStarts(network, starts) } : {}),
      buildPull: (registry) => buildPuller(imageStore, registry, () => nodeCredentials),
      peering: {
        node: config.name, log: this.log,
        tls: () => ({ ca: nodeCredentials.ca, cert: nodeCredentials.certificate, key: nodeCredentials.key }),
      },
      container: (namespace, name) => {
        const container = reconciler.records.get(replicaKey(namespace, name))?.container;
        return container && !container.exit ? { image: container.spec.image, ...(container.upperDir ? { upperDir: container.upperDir } : {}) } : undefined;
      },
      exec: async (namespace, name, options) => runtime.exec(here(namespace, name), options),
      files: (namespace, name) => linuxRuntime.openRoot(here(namespace, name), `replica ${name}`),
      localVolumes: {
        users: (namespace, name) => [...reconciler.records.values()]
          .filter((r) => r.namespace === namespace && r.assignment?.template.volumes?.some((v) => v.localVolume?.name === name))
          .map((r) => r.name).sort(),
        remove: (namespace, name, inUse) => nodeVolumes.removeLocalVolume(namespace, name, inUse),
      },
      main: {
        attach: (namespace, name, replay) => linuxRuntime.attach(here(namespace, name), replay),
        signal: (namespace, name, signal) => linuxRuntime.signal(here(namespace, name), signal),
      },
    });
    this.stopTlsReload = reloadOnChange(this.server.server, config.tls, (next) => {
      tls = next;
      this.log('serving certificate reloaded');
    }, this.log);
    if (config.metricsInsecureListen) {
      this.insecureMetrics = await startInsecureMetrics(config.metricsInsecureListen, { registry: metrics.registry, expireSamples: resources.expire });
      this.log(`warning: /metrics also over plain HTTP without credentials on ${config.metricsInsecureListen.host}:${this.insecureMetrics.port} (--metrics-insecure-listen)`);
    }
    this.isolation = new IsolationFence({ peers: () => this.peers, fence: () => reconciler.isolate(), log: this.log });
    this.isolation.start();
    const client = this.connect(reconciler, images, credentials, fence, (reason) => metrics.recordRefusal(reason));
    this.client = client;
    client.start();
    let clusterCa = credentials.ca;
    const stopClientRotation = rotateNodeCertificate(identity, credentials, (csr) => client.renewCertificate(csr), (next) => {
      clusterCa = next.ca;
      nodeCredentials = next;
      client.useCredentials(next);
    });
    const stopServingRotation = rotateServingCertificate({
      nodeName: config.name, address: config.address, files: config.tls, ca: () => clusterCa, log: this.log,
      renew: (csr) => client.renewServingCertificate(csr),
      onRenewed: async () => {
        const next = await loadAgentTls(config.tls);
        this.server?.server.setSecureContext(next.options);
        tls = next;
      },
    });
    this.stopRotation = () => {
      stopClientRotation();
      stopServingRotation();
    };
    this.usageReporter = new UsageReporter(config.name, resources.sampler, () => this.client, USAGE_REPORT_INTERVAL_MS, traffic);
    this.usageReporter.start();
    this.log(`serving on https://${config.address}:${config.port}, control plane ${config.controlPlane}`);
  }

  /**
   * The built-in base images; without them only imported images run, so a failure is a warning.
   * busybox (about 1 MB) is made before the agent serves. node copies about 100 MB: it is made in
   * the background, so readiness does not wait for it; a replica of node meanwhile fails to start
   * with ImageNotFound and is retried with backoff by the reconciler. Both are cheap when present.
   */
  private async prepareImages(): Promise<void> {
    const { imageDir } = this.config;
    try {
      await ensureBusyboxImage(imageDir);
    } catch (error) {
      this.log(`warning: cannot prepare the busybox image in ${imageDir}: ${(error as Error).message}`);
    }
    const began = Date.now();
    this.baseImages = ensureNodeImage(imageDir).then(
      (refs) => this.log(`images ${refs.join(', ')} ready (${Date.now() - began} ms)`),
      (error: Error) => this.log(`warning: cannot prepare the node image in ${imageDir}: ${error.message}`),
    );
  }

  /** A build FROM node that arrives while the node image is still being made waits for it. */
  private imagesAfterBaseImages(images: ImageService): ImageService {
    return { ...images, build: async (options) => {
      await this.baseImages;
      return images.build(options);
    } };
  }

  private connect(reconciler: Reconciler, images: ImageService, credentials: NodeCredentials, fence: ClusterFence, onRefused: (reason: string) => void): ControlPlaneClient {
    const { config } = this;
    const allocatable = allocatableOf(config.capacity);
    return new ControlPlaneClient({
      address: config.controlPlane, credentials, fence, onRefused,
      registration: {
        nodeName: config.name, address: config.address, agentPort: config.port, labels: config.labels,
        capacity: config.capacity, allocatable,
      },
      onRegistered: async (answer) => {
        await this.network!.configure(answer.podCIDR, answer.clusterCIDR, answer.podNetwork);
        this.services?.configure(this.network!.settingsIfReady(), answer.serviceCIDR);
        this.publishSoon(true);
      },
      onAcknowledged: (sentAt, leaseSeconds) => this.isolation?.acknowledged(sentAt, leaseSeconds),
      onAssignments: (assignments) => {
        this.peers = assignments.nodes.filter((n) => n.nodeName !== config.name && n.agentPort)
          .map((n) => ({ address: n.address, port: n.agentPort! }));
        void this.network!.routeTo(assignments.nodes);
        // Before the reconciler: a replica it starts now reads the objects of this very set.
        this.configVolumes?.update(assignments.configs ?? [], assignments.replicas);
        reconciler.setDesired(assignments.replicas);
      },
      onEndpoints: (endpoints) => {
        this.endpoints = endpoints.ports;
        this.serviceAddresses = endpoints.services;
        this.publishSoon(true);
      },
      report: () => statusReport(config.name, reconciler.views(), reconciler.goneKeys()),
      onReportAcknowledged: (report) => reconciler.acknowledgeGone(report.gone ?? []),
      images: async () => (await images.list()).map((image) => image.ref),
      localVolumes: () => this.nodeVolumes?.report() ?? [],
      diskPressure: () => {
        const pressure = this.disk?.pressure();
        return pressure && { message: pressure.message, sinceMs: pressure.since };
      },
      log: this.log,
    });
  }

  private *runningContainerIds(): Iterable<string> {
    for (const record of this.reconciler?.records.values() ?? []) {
      if (record.container && !record.exit) yield record.container.id;
    }
  }

  private changed(): void {
    this.reportSoon();
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      void this.imageCollector?.mark().catch((error: Error) => this.log(`cannot record the images in use: ${error.message}`));
      if (this.reconciler) this.prober?.sync(probedContainers(this.reconciler.records.values(), this.config.address));
      this.publishSoon();
    }, CHANGE_COALESCE_MS);
  }

  /**
   * The balancer follows the endpoints the control plane pushes, minus local replicas this agent
   * already knows are not ready; plans are applied one after the other.
   */
  private publishSoon(servicesChanged = false): void {
    const reconciler = this.reconciler;
    const balancer = this.balancer;
    if (!reconciler || !balancer) return;
    this.publishing = this.publishing.then(async () => {
      const ready = new Set(reconciler.views().filter((v) => v.ready).map((v) => v.record.key));
      const local = { node: this.config.name, isReady: (key: string) => ready.has(key) };
      void this.services?.sync(servicesChanged ? this.serviceAddresses : undefined, local);
      if (!this.endpoints) return; // the balancer keeps serving the last agent's config meanwhile
      const plan = planPublishedPorts(this.endpoints, local);
      const conflicts = plan.conflicts.join('; ');
      if (conflicts && conflicts !== this.conflicts) this.log(`warning: ${conflicts}`);
      this.conflicts = conflicts;
      await balancer.publish(plan.ports);
    }).catch((error: Error) => this.log(`cannot apply the load balancer plan: ${error.message}`));
  }

  private reportSoon(): void {
    if (this.reportTimer) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      void this.client?.reportNow();
    }, REPORT_COALESCE_MS);
  }

  /** Leaves the containers running: they are adopted when the agent comes back. The warm pool's
   *  waiting inits are no containers: they are killed. */
  async stop(): Promise<void> {
    clearTimeout(this.reportTimer);
    clearTimeout(this.changeTimer);
    this.usageReporter?.stop();
    this.logs?.stop();
    this.imageCollector?.stop();
    this.disk?.stop();
    this.storage?.stop();
    this.stopRotation?.();
    this.isolation?.stop();
    this.reconciler?.stop();
    this.prober?.stop();
    this.client?.close();
    this.balancer?.close(); // its ports keep serving, as the containers keep running
    await this.services?.close();
    // Bounded: the process exits right after, and its waiting inits die with it anyway (PDEATHSIG).
    await Promise.race([this.runtime?.close(), new Promise((resolve) => setTimeout(resolve, POOL_CLOSE_MS).unref())]);
    this.stopTlsReload?.();
    await this.insecureMetrics?.close();
    await this.server?.close();
  }
}

/** What the logs endpoint reads of a replica: its files by instance, and the rotator's time marks. */
function replicaLog(logs: LogRotator, id: string): ReplicaLog {
  return {
    current: logs.files.path(id),
    files: (instance) => logs.files.existing(id, instance),
    since: (instance, ms) => logs.since(id, instance, ms),
  };
}
