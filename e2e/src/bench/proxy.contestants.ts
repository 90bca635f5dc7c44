/**
 * The processes the proxy benchmark puts side by side: nginx (the reference), the small Node.js
 * backends, and, for the isolated mode, Tide's balancer classes in a plain Node process of their own
 * (no agent, no cluster), loaded from the node agent's build.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, waitFor } from '../harness';

/**
 * The backend: one fixed 30-byte answer. Its keep-alive timeout is raised from Node's 5 s so that
 * neither balancer's pooled connections are closed by the backend between rounds.
 */
export const BACKEND = `
const body = Buffer.from('hello from ' + require('os').hostname() + '\\n');
const server = require('http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 3600e3;
server.listen(Number(process.env.PORT || 8080), process.env.HOST || undefined);
process.on('SIGTERM', () => process.exit(0));
`;

/** Never reached in a run: nginx neither closes a client nor an upstream connection after N requests. */
const NEVER = 1_000_000_000;

/**
 * nginx as close to Tide's balancer as its configuration allows: one worker (the balancer is one
 * event loop), least_conn (Tide: the less busy of two random backends), HTTP/1.1 keep-alive to the
 * backends, and no connection recycled on either side (nginx's default is to close a client or an
 * upstream connection after 1,000 requests and 60 s idle; Tide never does).
 */
export function nginxConfig(dir: string, listen: string, upstreams: string[], workers: number): string {
  return `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  keepalive_requests ${NEVER};
  keepalive_timeout 3600s;
  upstream backends {
    least_conn;
${upstreams.map((u) => `    server ${u};`).join('\n')}
    keepalive 64;
    keepalive_requests ${NEVER};
    keepalive_timeout 3600s;
  }
  server {
    listen ${listen};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

export function requireTool(name: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) {
    throw new Error(`${name} is not installed: run scripts/setup.sh (it installs Debian's wrk and nginx-light)`);
  }
}

async function answering(what: string, url: string, child: ChildProcess): Promise<void> {
  await waitFor(what, async () => {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode})`);
    return (await fetch(url)).ok;
  }, 10_000, 100);
}

export async function startNginx(dir: string, config: string, url: string): Promise<ChildProcess> {
  fs.writeFileSync(path.join(dir, 'nginx.conf'), config);
  const nginx = spawn('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await answering('nginx answering', url, nginx);
  return nginx;
}

/** nginx's worker (the master only supervises): the process whose CPU time is nginx's work. */
export function nginxWorker(master: ChildProcess): number {
  const children = fs.readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  if (children.length !== 1 || !children[0]) throw new Error(`expected one nginx worker under ${master.pid}, found ${children.join(' ')}`);
  return children[0];
}

/** Backends on loopback for the isolated mode, one process each. */
export async function startBackends(host: string, ports: number[]): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  for (const port of ports) {
    const child = spawn(process.execPath, ['-e', BACKEND], { env: { ...process.env, HOST: host, PORT: String(port) }, stdio: 'ignore' });
    children.push(child);
    await answering(`backend on ${host}:${port}`, `http://${host}:${port}/`, child);
  }
  return children;
}

/**
 * Tide's balancer alone: the agent's LoadBalancer from its build, one HTTP port over `targets`, in
 * a process of its own (`profileDir`: with node --cpu-prof, the profile is written there at exit).
 */
const BALANCER = `
const { LoadBalancer } = require(process.env.DIST + '/proxy/load.balancer.js');
const { BalancerMetrics } = require(process.env.DIST + '/proxy/balancer.metrics.js');
const [host, port] = [process.env.HOST, Number(process.env.PORT)];
const targets = process.env.TARGETS.split(',').map((t) => ({ host: t.split(':')[0], port: Number(t.split(':')[1]) }));
const balancer = new LoadBalancer(host, new BalancerMetrics());
balancer.apply(new Map([[port, { service: 'bench/web', protocol: 'HTTP', targets }]]));
process.on('SIGTERM', () => balancer.close().then(() => process.exit(0)));
`;

export async function startBalancer(host: string, port: number, targets: string[], profileDir?: string): Promise<ChildProcess> {
  const flags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const dist = path.join(REPO, 'apps/node-agent/dist');
  if (!fs.existsSync(path.join(dist, 'proxy/load.balancer.js'))) throw new Error(`${dist} is not built: npm run build`);
  const child = spawn(process.execPath, [...flags, '-e', BALANCER], {
    env: { ...process.env, DIST: dist, HOST: host, PORT: String(port), TARGETS: targets.join(',') }, stdio: 'ignore',
  });
  await answering('Tide\'s balancer answering', `http://${host}:${port}/`, child);
  return child;
}

/** Waits for a child started here to exit (SIGTERM first, SIGKILL after 5 s). */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface CpuTime {
  user: number;
  system: number;
}

/** CPU seconds a process has used so far (all its threads), in clock ticks of 10 ms. */
export function cpuTime(pid: number): CpuTime {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime), counted after the command's closing parenthesis.
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}
