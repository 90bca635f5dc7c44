/**
 * A control plane as its own process (supervising its own etcd) in a temporary state dir, spoken to
 * with its own client certificate (admin-equivalent): for benchmarks and e2e tests that bring their
 * own (hollow) nodes instead of `tsctl up`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from 'undici';
import { systemDispatcher } from '../harness';

export class ControlPlaneProcess {
  readonly dir: string;
  readonly server: string;
  private child?: ChildProcess;

  /** `args`: more control-plane flags; `dirPrefix`: its state dir's name in the temp dir. */
  constructor(private readonly basePort: number, private readonly main: string, private readonly args: string[] = [], dirPrefix = 'tide-hollow-') {
    this.server = `https://127.0.0.1:${basePort}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The bench speaks as the control plane's own identity (its client certificate, which it made in STATE/pki at start). */
  private dispatcher?: Agent;

  start(): void {
    const log = fs.openSync(path.join(this.dir, 'control-plane.log'), 'a');
    this.child = spawn(process.execPath, [this.main,
      '--listen', `127.0.0.1:${this.basePort}`, '--grpc-listen', `127.0.0.1:${this.basePort + 1}`, '--etcd-port', String(this.basePort + 2),
      '--state-dir', this.dir, ...this.args], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
  }

  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response> {
    this.dispatcher ??= systemDispatcher(path.join(this.dir, 'pki'));
    return fetch(this.server + pathAndQuery, { ...init, dispatcher: this.dispatcher } as RequestInit);
  }

  async api<T>(pathAndQuery: string, init?: RequestInit): Promise<T> {
    const response = await this.fetch(pathAndQuery, init);
    if (!response.ok) throw new Error(`${pathAndQuery}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Peak resident set of the control plane process so far, in MiB (VmHWM in /proc/PID/status). */
  peakRssMb(): number {
    const status = fs.readFileSync(`/proc/${this.child?.pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (!kib) throw new Error(`no VmHWM in /proc/${this.child?.pid}/status`);
    return Math.round(Number(kib[1]) / 1024);
  }

  /** CPU time (user and system) the control plane process has used so far, its etcd child not included. */
  cpuMs(): number {
    // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses; in clock ticks (100 a second).
    const stat = fs.readFileSync(`/proc/${this.child?.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  logTail(): string {
    const file = path.join(this.dir, 'control-plane.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(-3000) : '';
  }

  /** SIGTERM (it stops its etcd child), SIGKILL after 15 s; then the state dir goes. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await this.dispatcher?.close().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
