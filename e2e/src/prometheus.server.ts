/**
 * A real Prometheus server (Debian's package) for e2e tests: a child process on a loopback port
 * with a temporary data dir and a configuration made from manifests/prometheus/prometheus.yml
 * pointed at the test cluster, with short intervals. stop() kills it and removes the dir.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO, waitFor } from './harness';

export const EXAMPLE_CONFIG = path.join(REPO, 'manifests/prometheus/prometheus.yml');
const EXAMPLE_API = '127.0.0.1:7070';
const EXAMPLE_CA = '/var/lib/tide/pki/ca.crt';
const EXAMPLE_TOKEN = '/etc/prometheus/tide.token';

interface ScrapeConfig {
  job_name: string;
  http_sd_configs?: { url: string; refresh_interval?: string }[];
  static_configs?: { targets: string[] }[];
}

/**
 * The example configuration, its control plane address, CA file and token file replaced, and every
 * interval set to `interval`.
 */
export function configFor(apiHostPort: string, interval: string, auth: { caFile: string; tokenFile: string }): string {
  const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replaceAll(EXAMPLE_API, apiHostPort).replaceAll(EXAMPLE_CA, auth.caFile).replaceAll(EXAMPLE_TOKEN, auth.tokenFile);
  const config = parse(text) as {
    global: Record<string, string>; scrape_configs: ScrapeConfig[];
  };
  config.global.scrape_interval = interval;
  config.global.evaluation_interval = interval;
  for (const job of config.scrape_configs) for (const sd of job.http_sd_configs ?? []) sd.refresh_interval = interval;
  return stringify(config);
}

export interface Sample {
  metric: Record<string, string>;
  /** [unix seconds, "value"] */
  value: [number, string];
}

export interface PromTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  health: string;
  lastError: string;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly dir: string,
    private readonly child: ChildProcess,
    private readonly output: () => string,
  ) {}

  static async start(listen: string, config: string): Promise<PrometheusServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-prometheus-'));
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
    const child = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${listen}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const server = new PrometheusServer(`http://${listen}`, dir, child, () => output);
    try {
      await waitFor('Prometheus to be ready', async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${output}`);
        return (await fetch(`${server.url}/-/ready`)).ok;
      }, 60_000, 100);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async query(promql: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  }

  async targets(): Promise<PromTarget[]> {
    const body = (await (await fetch(`${this.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: PromTarget[] } };
    return body.data.activeTargets;
  }

  log(): string {
    return this.output().slice(-3000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `promtool check metrics` on an exposition: its complaints, one a line ([] when clean). */
export function promtoolProblems(exposition: string): string[] {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool cannot run (${result.error.message}): scripts/setup.sh installs Debian's prometheus package`);
  if (result.status === 0) return [];
  const lines = `${result.stdout}${result.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines : [`promtool exited ${result.status}`];
}
