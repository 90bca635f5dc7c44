/**
 * proxy benchmark: requests per second and p99 latency through Tide's per-node load balancer and
 * through nginx (Debian's nginx-light) configured with the same backends, in one run. A one-node
 * cluster runs the backends (small Node.js HTTP servers in bridge containers) behind a published
 * HTTP port; nginx balances over the same replicas' addresses (least_conn, keep-alive upstream
 * connections, one worker: the agent's balancer is one event loop too). wrk drives both with the
 * same keep-alive connections, in interleaved rounds; the medians of the rounds are reported.
 * Options: --connections N (32), --seconds S per round (5), --rounds N (3), --backends N (2),
 * --nginx-workers N (1), --json.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestCluster, running, waitFor } from '../harness';
import { LoadFigures, median, runWrk } from './wrk';

const BASE = 19570;
const POD_CIDR = '100.64.84.0/22';
const PUBLISHED = BASE + 20;
const NGINX_PORT = BASE + 21;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const BACKEND = `
const body = Buffer.from('hello from ' + require('os').hostname() + '\\n');
require('http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

function manifest(backends: number): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: bench-web }
spec:
  replicas: ${backends}
  image: node
  command: ${JSON.stringify(['node', '-e', BACKEND])}
  resources: { requests: { cpu: 10m, memory: 32Mi } }
  terminationGracePeriodSeconds: 1
  ports:
    - { containerPort: 8080, publish: ${PUBLISHED}, protocol: HTTP }
  probes:
    readiness: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
`;
}

function nginxConfig(dir: string, address: string, upstreams: string[], workers: number): string {
  return `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream backends {
    least_conn;
${upstreams.map((u) => `    server ${u};`).join('\n')}
    keepalive 64;
  }
  server {
    listen ${address}:${NGINX_PORT};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function requireTool(name: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) {
    throw new Error(`${name} is not installed: run scripts/setup.sh (it installs Debian's wrk and nginx-light)`);
  }
}

async function startNginx(dir: string, config: string, url: string): Promise<ChildProcess> {
  fs.writeFileSync(path.join(dir, 'nginx.conf'), config);
  const nginx = spawn('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await waitFor('nginx answering', async () => (await fetch(url)).ok, 10_000, 100);
  return nginx;
}

async function main(): Promise<void> {
  const connections = option('connections', 32);
  const seconds = option('seconds', 5);
  const rounds = option('rounds', 3);
  const backends = option('backends', 2);
  const workers = option('nginx-workers', 1);
  const json = process.argv.includes('--json');
  requireTool('wrk');
  requireTool('nginx');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-proxy-bench-'));
  const cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  let nginx: ChildProcess | undefined;
  const figures: Record<'tide' | 'nginx', LoadFigures[]> = { tide: [], nginx: [] };
  try {
    const applied = await cluster.apply(manifest(backends));
    if (applied.code !== 0) throw new Error(applied.stderr);
    const replicas = await waitFor(`${backends} ready backends`, async () => {
      const list = running(await cluster.replicas('bench-web')).filter((r) => r.status?.ready && r.status.ip);
      return list.length === backends ? list : undefined;
    }, 180_000);
    const [node] = await cluster.nodeList();
    const tideUrl = `http://${node.spec.address}:${PUBLISHED}/`;
    const nginxUrl = `http://${node.spec.address}:${NGINX_PORT}/`;
    await waitFor('every backend answering through Tide\'s balancer', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4 * backends; i++) seen.add(await (await fetch(tideUrl)).text());
      return seen.size === backends;
    }, 30_000, 200);
    nginx = await startNginx(dir, nginxConfig(dir, node.spec.address, replicas.map((r) => `${r.status!.ip}:8080`), workers), nginxUrl);
    // Warm-up: connection pools, JIT.
    await runWrk(tideUrl, connections, 2);
    await runWrk(nginxUrl, connections, 2);
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of [['tide', tideUrl], ['nginx', nginxUrl]] as const) {
        const result = await runWrk(url, connections, seconds);
        figures[name].push(result);
        if (!json) console.log(`round ${round + 1} ${name}: ${result.rps} req/s, p99 ${result.p99_ms} ms, ${result.errors} errors`);
      }
    }
  } finally {
    nginx?.kill('SIGTERM');
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const summary = (list: LoadFigures[]): LoadFigures => ({
    rps: median(list.map((f) => f.rps)), p99_ms: median(list.map((f) => f.p99_ms)), errors: list.reduce((sum, f) => sum + f.errors, 0),
  });
  const tide = summary(figures.tide);
  const reference = summary(figures.nginx);
  const result = {
    benchmark: 'proxy', connections, seconds, rounds, backends, nginx_workers: workers,
    tide, nginx: reference,
    rps_ratio: Math.round((tide.rps / reference.rps) * 100) / 100,
    p99_ratio: Math.round((tide.p99_ms / reference.p99_ms) * 100) / 100,
    rounds_detail: figures,
  };
  console.log(json ? JSON.stringify(result) : result);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
