/** Wires one node agent: runtime, reconciler, control-plane client, HTTP endpoint and metrics. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LinuxRuntime, ensureBusyboxImage } from '@tide/runtime';
import { AgentConfig } from './config';
import { ControlPlaneClient } from './control-plane.client';
import { startHttpServer } from './http.server';
import { Reconciler } from './reconciler';
import { statusReport } from './status.report';

export class NodeAgent {
  private client?: ControlPlaneClient;
  private server?: http.Server;
  private reconciler?: Reconciler;
  private reportTimer?: NodeJS.Timeout;

  constructor(private readonly config: AgentConfig) {}

  async start(): Promise<void> {
    const { config } = this;
    fs.mkdirSync(path.join(config.stateDir, 'logs'), { recursive: true });
    await ensureBusyboxImage(config.imageDir);
    const runtime = new LinuxRuntime({ stateDir: config.stateDir, imageDir: config.imageDir });
    const reconciler = new Reconciler({
      runtime, stateFile: path.join(config.stateDir, 'replicas.json'), logDir: path.join(config.stateDir, 'logs'),
      onChange: () => this.reportSoon(),
    });
    this.reconciler = reconciler;
    await reconciler.adopt();
    const registry = this.metrics(reconciler);
    this.server = await startHttpServer({
      address: config.address, port: config.port, registry,
      logPath: (namespace, name) => reconciler.logPath(namespace, name),
    });
    this.client = new ControlPlaneClient(config, {
      onAssignments: (assignments) => {
        const names = new Set(assignments.replicas.map((a) => `${a.namespace}/${a.name}`));
        reconciler.acknowledgeGone([...reconciler.gone].filter((key) => !names.has(key)));
        reconciler.setDesired(assignments.replicas);
      },
      report: () => statusReport(config.name, reconciler.records.values(), reconciler.gone),
      log: (line) => console.log(`node-agent ${config.name}: ${line}`),
    });
    this.client.start();
    console.log(`node-agent ${config.name}: serving on http://${config.address}:${config.port}, control plane ${config.controlPlane}`);
  }

  /** Status changes come in bursts (a batch of starts): one report per burst. */
  private reportSoon(): void {
    if (this.reportTimer) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      void this.client?.reportNow();
    }, 50);
  }

  private metrics(reconciler: Reconciler): Registry {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    new Gauge({
      name: 'tide_agent_replicas', help: 'Replicas on this node by phase', labelNames: ['phase'], registers: [registry],
      collect() {
        this.reset();
        for (const r of reconciler.records.values()) this.inc({ phase: r.phase });
      },
    });
    new Gauge({
      name: 'tide_agent_replica_restarts', help: 'Restart count of each replica on this node', labelNames: ['namespace', 'replica'], registers: [registry],
      collect() {
        this.reset();
        for (const r of reconciler.records.values()) this.set({ namespace: r.namespace, replica: r.name }, r.restartCount);
      },
    });
    return registry;
  }

  /** Leaves the containers running: they are adopted when the agent comes back. */
  async stop(): Promise<void> {
    this.reconciler?.stop();
    this.client?.close();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}

/** `node-agent cleanup --state-dir DIR`: stops and removes every container of a node state dir. */
export async function cleanupNode(stateDir: string, imageDir: string): Promise<number> {
  const runtime = new LinuxRuntime({ stateDir, imageDir });
  const containers = await runtime.list();
  await Promise.all(containers.map(async (c) => {
    await runtime.stop(c.id, 1).catch(() => undefined);
    await runtime.remove(c.id);
  }));
  return containers.length;
}
