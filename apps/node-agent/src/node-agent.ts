/** Wires one node agent: runtime, reconciler, control-plane client, HTTP endpoint and metrics. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { ContainerRuntime, LinuxRuntime, ensureBusyboxImage } from '@tide/runtime';
import { AgentConfig, allocatableOf } from './config/agent.config';
import { createAgentMetrics } from './agent.metrics';
import { ControlPlaneClient } from './control-plane/control-plane.client';
import { statusReport } from './control-plane/status.report';
import { startAgentHttp } from './http/agent.http';
import { Reconciler } from './reconcile/reconciler';
import { ReplicaStateFile } from './reconcile/replica.state-file';

/** Status changes come in bursts (a batch of starts): at most one report per this many ms. */
const REPORT_COALESCE_MS = 50;
/** How long stop() waits for the warm pool's inits to be gone. */
const POOL_CLOSE_MS = 2000;

export class NodeAgent {
  private client?: ControlPlaneClient;
  private server?: http.Server;
  private reconciler?: Reconciler;
  private reportTimer?: NodeJS.Timeout;
  private runtime?: LinuxRuntime;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: (line: string) => void = (line) => console.log(`node-agent ${config.name}: ${line}`),
  ) {}

  async start(): Promise<void> {
    const { config } = this;
    const logDir = path.join(config.stateDir, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    await this.prepareImages();
    this.runtime = new LinuxRuntime({ stateDir: config.stateDir, imageDir: config.imageDir, warmPool: config.warmPool });
    const runtime: ContainerRuntime = this.runtime;
    const metrics = createAgentMetrics(config.name, () => this.reconciler);
    const reconciler = new Reconciler({
      runtime, logDir, state: new ReplicaStateFile(path.join(config.stateDir, 'replicas.json')),
      onChange: () => this.reportSoon(), onRestart: (record) => metrics.recordRestart(record), log: this.log,
    });
    this.reconciler = reconciler;
    await reconciler.adopt();
    this.server = await startAgentHttp({
      address: config.address, port: config.port, registry: metrics.registry,
      logPath: (namespace, name) => (reconciler.records.has(`${namespace}/${name}`) ? reconciler.logPath(namespace, name) : undefined),
      health: () => ({ ok: true, text: this.client?.isConnected() ? 'ok' : 'ok (not connected to the control plane)' }),
    });
    this.client = this.connect(reconciler);
    this.client.start();
    this.log(`serving on http://${config.address}:${config.port}, control plane ${config.controlPlane}`);
  }

  /** The built-in busybox image; without it only imported images run, so a failure is a warning. */
  private async prepareImages(): Promise<void> {
    try {
      await ensureBusyboxImage(this.config.imageDir);
    } catch (error) {
      this.log(`warning: cannot prepare the busybox image in ${this.config.imageDir}: ${(error as Error).message}`);
    }
  }

  private connect(reconciler: Reconciler): ControlPlaneClient {
    const { config } = this;
    const allocatable = allocatableOf(config.capacity);
    return new ControlPlaneClient({
      address: config.controlPlane,
      registration: {
        nodeName: config.name, address: config.address, agentPort: config.port, labels: config.labels,
        capacity: config.capacity, allocatable,
      },
      onAssignments: (assignments) => reconciler.setDesired(assignments.replicas),
      report: () => statusReport(config.name, reconciler.views(), reconciler.goneKeys()),
      onReportAcknowledged: (report) => reconciler.acknowledgeGone(report.gone ?? []),
      log: this.log,
    });
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
    this.reconciler?.stop();
    this.client?.close();
    // Bounded: the process exits right after, and its waiting inits die with it anyway (PDEATHSIG).
    await Promise.race([this.runtime?.close(), new Promise((resolve) => setTimeout(resolve, POOL_CLOSE_MS).unref())]);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections(); // followers of logs would hold close() open
    await new Promise((resolve) => server.close(resolve));
  }
}
