/**
 * End-to-end harness: starts a real local Tide cluster (etcd, control plane, node agents) through
 * `tsctl up` in a temporary state dir on its own ports, drives it through tsctl and the HTTP API,
 * and tears everything down — also when a test fails — then checks that nothing was left behind.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import type { Node, Replica, Service } from '@tide/api';
import { waitFor as waitUntil } from '@tide/api/testing';

const execFileAsync = promisify(execFile);
export const REPO = path.resolve(__dirname, '../..');
const TSCTL = path.join(REPO, 'apps/tsctl/dist/main.js');

export interface TsctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Roles of API tokens (libs/auth). */
export type Role = 'admin' | 'edit' | 'view';

export type ApiInit = RequestInit & {
  /** The bearer token to send: default the admin token `tsctl up` wrote, null for none. */
  token?: string | null;
};

export class TestCluster {
  private credentials?: { ca: string; token: string; dispatcher: Agent };
  private readonly agentDispatchers = new Map<string, Agent>();

  private constructor(
    readonly stateDir: string,
    readonly basePort: number,
    readonly nodes: number,
  ) {}

  /** The API's URL: on loopback, or on the LAN of simulated hosts (as the credential file says once `tsctl up` wrote it). */
  get server(): string {
    try {
      return (JSON.parse(fs.readFileSync(this.configFile, 'utf8')) as { server: string }).server;
    } catch {
      return `https://127.0.0.1:${this.basePort}`;
    }
  }

  /** The credential file `tsctl up` wrote (HOME is the state dir): the API's CA and the admin token. */
  get configFile(): string {
    return path.join(this.stateDir, '.tide', 'config');
  }

  /** The cluster CA (PEM) that signed the API's certificate. */
  get caPem(): string {
    return this.trust().ca;
  }

  get adminToken(): string {
    return this.trust().token;
  }

  /** An undici dispatcher that trusts the cluster CA, for fetch calls of a test's own. */
  get dispatcher(): Agent {
    return this.trust().dispatcher;
  }

  private trust(): { ca: string; token: string; dispatcher: Agent } {
    if (!this.credentials) {
      const config = JSON.parse(fs.readFileSync(this.configFile, 'utf8')) as { ca: string; token: string };
      this.credentials = { ca: config.ca, token: config.token, dispatcher: new Agent({ connect: { ca: config.ca } }) };
    }
    return this.credentials;
  }

  /** fetch to the API over HTTPS trusting the cluster CA, with the admin token unless `token` says otherwise. */
  fetch(pathAndQuery: string, init: ApiInit = {}, server = this.server): Promise<Response> {
    const { token, ...rest } = init;
    const bearer = token === undefined ? this.adminToken : token;
    const headers = new Headers(rest.headers);
    if (bearer !== null) headers.set('authorization', `Bearer ${bearer}`);
    return fetch(server + pathAndQuery, { ...rest, headers, dispatcher: this.dispatcher } as RequestInit);
  }

  /**
   * fetch to a node agent's HTTPS endpoint trusting the cluster CA: with `token` as a bearer token
   * (and no certificate), else as the control plane (its client certificate, the only one the
   * agents' exec, logs and image endpoints take), or with no credentials at all (`as: 'nobody'`).
   */
  agentFetch(node: Node, pathAndQuery: string, init: RequestInit & { token?: string; as?: 'control-plane' | 'nobody' } = {}): Promise<Response> {
    const { token, as = 'control-plane', ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
    const withCertificate = token === undefined && as === 'control-plane';
    const key = withCertificate ? 'system' : 'anonymous';
    let dispatcher = this.agentDispatchers.get(key);
    if (!dispatcher) {
      dispatcher = withCertificate ? systemDispatcher(path.join(this.stateDir, 'pki')) : new Agent({ connect: { ca: this.caPem } });
      this.agentDispatchers.set(key, dispatcher);
    }
    return fetch(`https://${node.spec.address}:${node.spec.agentPort}${pathAndQuery}`, { ...rest, headers, dispatcher } as RequestInit);
  }

  /** A new API token of that role (and namespace), made with `tsctl token create`. */
  async token(role: Role, namespace?: string): Promise<string> {
    const made = await this.tsctl(['token', 'create', '--role', role, ...(namespace ? ['--namespace', namespace] : [])]);
    if (made.code !== 0) throw new Error(`tsctl token create failed: ${made.stderr}`);
    return made.stdout.trim().split('\n').at(-1)!;
  }

  /** Starts a cluster; `tsctl up` returns once every node is Ready. */
  /** `upFlags`: more `tsctl up` flags, e.g. `['--consolidation-delay-seconds', '2']`. */
  static async start(options: { nodes?: number; basePort?: number; nodeGraceSeconds?: number; podCidr?: string; nodeCidrMaskSize?: number; upFlags?: string[] } = {}): Promise<TestCluster> {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-e2e-'));
    const cluster = new TestCluster(stateDir, options.basePort ?? 17070, options.nodes ?? 2);
    const flags = options.nodeGraceSeconds ? ['--node-grace-seconds', String(options.nodeGraceSeconds)] : [];
    // The tests that name a small pod CIDR were written for /24 slices (a few per /22); the default slice is a /22.
    if (options.podCidr) flags.push('--pod-cidr', options.podCidr, '--node-cidr-mask-size', String(options.nodeCidrMaskSize ?? 24));
    flags.push(...(options.upFlags ?? []));
    const up = await cluster.tsctl(
      // A loaded machine may take minutes to bring a cluster up: the limits only end a hung start.
      ['up', '--nodes', String(cluster.nodes), '--state-dir', stateDir, '--base-port', String(cluster.basePort), '--timeout', '240', ...flags],
      { timeoutMs: 300_000 },
    );
    if (up.code !== 0) {
      const logs = cluster.logs();
      await cluster.stop();
      throw new Error(`tsctl up failed (${up.code}):\n${up.stdout}\n${up.stderr}\n${logs}`);
    }
    return cluster;
  }

  /** Runs tsctl against this cluster; never throws on a non-zero exit. */
  async tsctl(args: string[], options: { input?: string; timeoutMs?: number; killSignal?: NodeJS.Signals } = {}): Promise<TsctlResult> {
    const isUp = args[0] === 'up' || args[0] === 'down';
    const full = isUp ? args : ['--server', this.server, ...args];
    const child = execFileAsync(process.execPath, [TSCTL, ...full], {
      timeout: options.timeoutMs ?? 120_000, // ends a hung command only: a loaded machine is slow
      killSignal: options.killSignal ?? 'SIGTERM',
      env: { ...process.env, HOME: this.stateDir },
      maxBuffer: 16 * 1024 * 1024,
    });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    try {
      const { stdout, stderr } = await child;
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
    }
  }

  async api<T>(pathAndQuery: string, init?: ApiInit): Promise<T> {
    const response = await this.fetch(pathAndQuery, init);
    const body = await response.text();
    if (!response.ok) {
      throw new Error(`${init?.method ?? 'GET'} ${pathAndQuery}: ${response.status} ${body}`);
    }
    return JSON.parse(body) as T;
  }

  async replicas(service?: string): Promise<Replica[]> {
    const query = service ? `?namespace=all&service=${service}` : '?namespace=all';
    return itemsOf(await this.api<unknown>(`/api/v1/replicas${query}`)) as Replica[];
  }

  async services(): Promise<Service[]> {
    return itemsOf(await this.api<unknown>('/api/v1/services?namespace=all')) as Service[];
  }

  async nodeList(): Promise<Node[]> {
    return itemsOf(await this.api<unknown>('/api/v1/nodes')) as Node[];
  }

  /**
   * etcdctl (Debian's etcd-client) against this cluster's etcd (basePort + 2, as `tsctl up` lays it
   * out) with the control plane's etcd client certificate; stdout as latin1, so raw values survive.
   */
  etcdctl(args: string[]): string {
    const pki = path.join(this.stateDir, 'pki', 'etcd');
    const result = spawnSync('etcdctl', [
      `--endpoints=https://127.0.0.1:${this.basePort + 2}`, `--cacert=${path.join(pki, 'ca.crt')}`,
      `--cert=${path.join(pki, 'control-plane-client.crt')}`, `--key=${path.join(pki, 'control-plane-client.key')}`, ...args,
    ], { encoding: 'latin1', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000, maxBuffer: 256 * 2 ** 20 });
    if (result.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  /** Applies a manifest given as text through `tsctl apply -f -`. */
  async apply(yaml: string): Promise<TsctlResult> {
    return this.tsctl(['apply', '-f', '-'], { input: yaml });
  }

  /** The lines of every process log in the state dir that match `pattern`, file by file. */
  logLines(pattern: RegExp): string[] {
    return listFiles(this.stateDir).filter((f) => f.endsWith('.log'))
      .flatMap((file) => readIfThere(file).split('\n').filter((line) => pattern.test(line)));
  }

  /** The tail of every process log in the state dir, for failure messages. */
  logs(): string {
    const out: string[] = [];
    for (const file of listFiles(this.stateDir).filter((f) => f.endsWith('.log'))) {
      const text = readIfThere(file);
      out.push(`--- ${file}\n${text.slice(-3000)}`);
    }
    return out.join('\n');
  }

  /**
   * Stops everything and removes the state dir; safe to call twice. No step waits without bound (a
   * test's `after` that hangs fails the file with nothing to show): connections are dropped, not
   * drained, each awaited step is given up on after its limit (`tsctl down` two and a half minutes),
   * then whatever mentions the state dir is killed. A step still running after 30 s says so while it
   * runs, so that a hang shows where it waits.
   */
  async stop(): Promise<void> {
    if (!fs.existsSync(this.stateDir)) return;
    const name = `stopping ${path.basename(this.stateDir)}`;
    const dispatchers = [...(this.credentials ? [this.credentials.dispatcher] : []), ...this.agentDispatchers.values()];
    this.credentials = undefined;
    this.agentDispatchers.clear();
    await teardownStep(`${name}: dropping connections`, 30, () => Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined))), undefined);
    await teardownStep(`${name}: keeping the logs`, 60, () => this.keepLogs(), undefined); // before down: --purge removes them
    // A tsctl killed in uninterruptible sleep (a disk that does not answer) ends when the kernel lets it: not awaited past 30 s more.
    const gaveUp: TsctlResult = { code: 1, stdout: '', stderr: 'still running 30 s after it was killed: given up on' };
    const down = await teardownStep(`${name}: tsctl down`, 150,
      () => this.tsctl(['down', '--state-dir', this.stateDir, '--purge'], { timeoutMs: 120_000, killSignal: 'SIGKILL' }), gaveUp);
    if (down.code !== 0 || /warning/.test(down.stderr)) console.log(`harness: tsctl down (${down.code}): ${down.stderr.trim().slice(0, 2000)}`);
    // Asynchronous, so that a read that blocks (a /proc/<pid>/cmdline whose process holds its memory
    // map lock in uninterruptible sleep; a disk that does not answer) can be given up on and named.
    await teardownStep(`${name}: killing what is left`, 30, async () => {
      for (const pid of await pidsMentioningAsync(this.stateDir)) signalIfAlive(pid, 'SIGKILL');
    }, undefined);
    await teardownStep(`${name}: removing the state dir`, 60, () => fs.promises.rm(this.stateDir, { recursive: true, force: true }), undefined);
  }

  /**
   * With $TIDE_E2E_LOGS set (the suite's runner sets it), the process logs are copied there before
   * the state dir goes, so that a failed file's logs can be shown (scripts/run-tests.js).
   */
  private async keepLogs(): Promise<void> {
    const into = process.env.TIDE_E2E_LOGS;
    if (!into) return;
    for (const file of listFiles(this.stateDir).filter((f) => f.endsWith('.log'))) {
      const target = path.join(into, path.basename(this.stateDir), path.relative(this.stateDir, file));
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await copyAsFarAsItGoes(file, target).catch(() => undefined); // removed since it was listed
    }
  }
}

/**
 * Copies what `from` holds when the copy starts, or less if it shrinks meanwhile, to `to`. Not
 * fs.copyFile: libuv's copy asks sendfile for the size it saw at the start until it has it, so a
 * file truncated under it (a container log the agent cuts back to its bound) makes a thread-pool
 * thread spin forever, and the process can then never exit (issue 18: log-flood.e2e's teardown).
 * A stream ends at the end of the file, wherever that has moved.
 */
export async function copyAsFarAsItGoes(from: string, to: string): Promise<void> {
  const { size } = await fs.promises.stat(from);
  if (size === 0) return fs.promises.writeFile(to, '');
  await pipeline(fs.createReadStream(from, { end: size - 1 }), fs.createWriteStream(to));
}

/**
 * A dispatcher that trusts a cluster's CA and presents the control plane's client certificate
 * (admin-equivalent): for tests and benchmarks that start a control plane without `tsctl up`.
 * Throws until the control plane has made its certificates.
 */
export function systemDispatcher(pkiDir: string): Agent {
  const read = (file: string) => fs.readFileSync(path.join(pkiDir, file), 'utf8');
  return new Agent({ connect: { ca: read('ca.crt'), cert: read('control-plane-client.crt'), key: read('control-plane-client.key') } });
}

function itemsOf(list: unknown): unknown[] {
  if (Array.isArray(list)) return list;
  return (list as { items: unknown[] }).items;
}

/** A file's text, or '' if it was removed since it was listed. */
function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every file under `dir`, walked one directory at a time: a directory removed meanwhile (a
 *  container's, while the cluster runs) is skipped, not an error. */
function listFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(full);
    return entry.isFile() ? [full] : [];
  });
}

/**
 * Sends a signal to a process found a moment ago: one that has exited since (a control plane's etcd
 * ends with it) is not an error. False when it was gone.
 */
export function signalIfAlive(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** The command line of a process (NUL-separated), or '' when it has exited meanwhile. */
export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Children of an agent that are still a container init, i.e. waiting in its warm pool. */
export function waitingInits(agentPid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === agentPid && cmdlineOf(Number(entry)).split('\0')[0].endsWith('/tide-init')) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/**
 * One awaited step of a teardown: given up on after `limitS` (answering `givenUp`), so that a step
 * that never ends does not hold a test file until its deadline with nothing to show. A step still
 * running after 30 s is named then, not only once it ends; one that took longer is named with its time.
 */
export async function teardownStep<T>(what: string, limitS: number, run: () => Promise<T> | T, givenUp: T): Promise<T> {
  const started = performance.now();
  const timers: NodeJS.Timeout[] = [];
  const late = new Promise<T>((resolve) => {
    if (limitS > 30) timers.push(setTimeout(() => console.log(`harness: ${what}: still running after 30 s`), 30_000));
    timers.push(setTimeout(() => {
      console.log(`harness: ${what}: given up on after ${limitS} s`);
      resolve(givenUp);
    }, limitS * 1000));
  });
  try {
    return await Promise.race([Promise.resolve().then(run), late]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    if (seconds > 30) console.log(`harness: ${what} took ${seconds.toFixed(1)} s`);
  }
}

/** Processes (this one aside) whose command line mentions `text`: a state dir, a program. */
export function pidsMentioning(text: string): number[] {
  return otherPids().filter((pid) => mentions(cmdlineOf(pid), text));
}

/** As pidsMentioning, reading each command line off the event loop. */
export async function pidsMentioningAsync(text: string): Promise<number[]> {
  const read = async (pid: number) => {
    const cmdline = await fs.promises.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''); // '': exited meanwhile
    return mentions(cmdline, text) ? [pid] : [];
  };
  return (await Promise.all(otherPids().map(read))).flat();
}

function otherPids(): number[] {
  return fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid).map(Number);
}

/** Whether a command line (/proc's, arguments NUL-separated) holds `text` with its arguments joined by spaces. */
function mentions(cmdline: string, text: string): boolean {
  return cmdline.replace(/\0/g, ' ').includes(text);
}

/** Mounts on the host whose mount point or options mention the text. */
export function mountsMentioning(text: string): string[] {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((line) => line.includes(text));
}

/** cgroup directories named after a container id, in every v1 controller and the v2 hierarchy. */
export function cgroupsMentioning(text: string): string[] {
  const found = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', `*${text}*`], {
    encoding: 'utf8',
  });
  return found.stdout.split('\n').filter(Boolean);
}

/** A Service of busybox sleeping: `spec` adds lines under spec (indented two spaces, e.g. an autoscale block). */
export function sleeperService(name: string, o: { replicas?: number; cpu: string; memory: string; graceSeconds?: number; spec?: string }): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:${o.replicas !== undefined ? `\n  replicas: ${o.replicas}` : ''}
  image: busybox
  command: ["sleep", "3600"]
  resources: { requests: { cpu: ${o.cpu}, memory: ${o.memory} } }
  terminationGracePeriodSeconds: ${o.graceSeconds ?? 1}
${o.spec ?? ''}`;
}

/** A Service of busybox running `script` in sh, with these requests (`cpu: 10m, memory: 8Mi`); `extra`: more lines under spec. */
export function shellService(name: string, replicas: number, script: string, requests: string, extra = ''): string {
  return `apiVersion: tide/v1
kind: Service
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  image: busybox
  command: ["sh", "-c", ${JSON.stringify(script)}]
  resources:
    requests: { ${requests} }
  terminationGracePeriodSeconds: 1
${extra}`;
}

/** The shared `waitFor` (libs/api testing) in the e2e tests' argument order: what, probe, deadline, interval. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  return waitUntil(probe, { what, timeoutMs, intervalMs });
}

/** A live process; a zombie (exited, not yet reaped by whoever inherited it) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    return !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function running(replicas: Replica[]): Replica[] {
  return replicas.filter((r) => r.status?.phase === 'Running');
}

/**
 * The root side of a simulated host's LAN link (`tsctl up --hosts netns`, simulated.hosts.ts: "tl" +
 * the state dir's hash, then "n" + N for the host at the LAN's address .N+1; the LAN a /24 from .0).
 * Taking it down cuts the host off while its agent and containers run on: a partition, not a power cut.
 */
export function simulatedHostLink(stateDir: string, node: { spec: { address: string } }): string {
  const hash = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 8);
  return `tl${hash}n${Number(node.spec.address.split('.')[3]) - 1}`;
}
