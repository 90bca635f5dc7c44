/**
 * An in-memory ContainerRuntime for reconciler tests: containers are records, exits happen when the
 * test says so, and every call is logged so a test can assert what the agent asked for.
 */
import {
  ContainerExitStatus, ContainerInfo, ContainerRuntime, ContainerSpec, ContainerUsage, ExecOptions, ExecSession, RuntimeError,
} from '../runtime.types';
import { FAKE_COMMANDS, FakeCommand, FakeExecSession, startFakeExec } from './fake.exec';

interface FakeContainer {
  info: ContainerInfo;
  exited: Promise<ContainerExitStatus>;
  resolveExit(exit: ContainerExitStatus): void;
}

export class FakeRuntime implements ContainerRuntime {
  /** Image references that exist; anything else is ImageNotFound (as LinuxRuntime does). */
  readonly images = new Set(['busybox', 'busybox:latest']);
  /** "start ID", "stop ID GRACE", "remove ID", in call order. */
  readonly calls: string[] = [];
  private readonly containers = new Map<string, FakeContainer>();
  /** Commands exec understands, by argv[0]; tests may add their own. */
  readonly execCommands: Map<string, FakeCommand> = new Map(Object.entries(FAKE_COMMANDS));
  /** Every exec session started, in order (their sizes and signals are recorded). */
  readonly execSessions: FakeExecSession[] = [];
  private nextPid = 1000;

  constructor(private readonly now: () => number = Date.now) {}

  async start(spec: ContainerSpec): Promise<ContainerInfo> {
    this.calls.push(`start ${spec.id}`);
    if (this.containers.has(spec.id)) throw new RuntimeError('InvalidSpec', `container ${spec.id} exists already: remove it first`);
    if (!this.images.has(spec.image)) throw new RuntimeError('ImageNotFound', `image "${spec.image}" not found on this node`);
    return this.create(spec).info;
  }

  async list(): Promise<ContainerInfo[]> {
    return [...this.containers.values()].map((c) => c.info);
  }

  wait(id: string): Promise<ContainerExitStatus> {
    return this.get(id).exited;
  }

  async stop(id: string, graceSeconds: number): Promise<ContainerExitStatus> {
    this.calls.push(`stop ${id} ${graceSeconds}`);
    const container = this.get(id);
    container.info.paused = false;
    if (!container.info.exit) this.exit(id, { code: null, signal: 'SIGTERM' });
    return container.exited;
  }

  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    const container = this.containers.get(id);
    if (container && !container.info.exit) this.exit(id, { code: null, signal: 'SIGKILL' });
    this.containers.delete(id);
  }

  async usage(id: string): Promise<ContainerUsage | undefined> {
    return this.containers.has(id) ? { cpuUsageSeconds: 0, memoryWorkingSetBytes: 0, memoryUsageBytes: 0, oomEvents: 0 } : undefined;
  }

  async pause(id: string): Promise<void> {
    this.calls.push(`pause ${id}`);
    const container = this.get(id);
    if (container.info.exit) throw new RuntimeError('NotFound', `container ${id} is not running`);
    container.info.paused = true;
  }

  async unpause(id: string): Promise<void> {
    this.calls.push(`unpause ${id}`);
    this.get(id).info.paused = false;
  }

  /** Runs a scripted command (fake.exec.ts) "inside" a running container; NotFound otherwise, as LinuxRuntime. */
  async exec(id: string, options: ExecOptions): Promise<ExecSession> {
    this.calls.push(`exec ${id} ${options.argv.join(' ')}`);
    const container = this.containers.get(id);
    if (!container || container.info.exit) throw new RuntimeError('NotFound', `container ${id} is not running`);
    if (container.info.paused) throw new RuntimeError('Paused', `container ${id} is paused: unpause it before exec`);
    if (options.argv.length === 0) throw new RuntimeError('InvalidSpec', 'exec needs a command');
    const session = startFakeExec(options, { hostname: container.info.spec.hostname, pid: this.nextPid++ }, this.execCommands);
    this.execSessions.push(session);
    return session;
  }

  // ---- test controls ----

  /** A container left by an earlier agent process, found by list(). */
  seed(spec: ContainerSpec, exit?: Partial<ContainerExitStatus>): ContainerInfo {
    const container = this.create(spec);
    if (exit) this.exit(spec.id, exit);
    return container.info;
  }

  /** The container's process exits (code 0 unless told otherwise). */
  exit(id: string, exit: Partial<ContainerExitStatus> = {}): void {
    const container = this.get(id);
    if (container.info.exit) return;
    const status: ContainerExitStatus = { code: 0, signal: null, oomKilled: false, finishedAt: new Date(this.now()), ...exit };
    container.info.exit = status;
    container.resolveExit(status);
  }

  /** Ids of containers whose process is alive. */
  running(): string[] {
    return [...this.containers.values()].filter((c) => !c.info.exit).map((c) => c.info.id).sort();
  }

  has(id: string): boolean {
    return this.containers.has(id);
  }

  starts(id: string): number {
    return this.calls.filter((call) => call === `start ${id}`).length;
  }

  private create(spec: ContainerSpec): FakeContainer {
    let resolveExit!: (exit: ContainerExitStatus) => void;
    const exited = new Promise<ContainerExitStatus>((resolve) => (resolveExit = resolve));
    const info: ContainerInfo = { id: spec.id, spec, pid: this.nextPid++, startedAt: new Date(this.now()), logPath: spec.logPath ?? `/fake/${spec.id}.log` };
    const container = { info, exited, resolveExit };
    this.containers.set(spec.id, container);
    return container;
  }

  private get(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw new RuntimeError('NotFound', `container ${id} not found`);
    return container;
  }
}
