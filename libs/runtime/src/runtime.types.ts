/**
 * The contract between the node agent and the container runtime. The agent decides what should run;
 * the runtime knows how to run one container and how to find the ones that already run.
 */

export interface ContainerLimits {
  /** CPU quota in millicores (1000 = one core); undefined = unlimited. */
  cpuMillis?: number;
  /** Relative CPU weight derived from the request, in millicores. */
  cpuRequestMillis?: number;
  memoryBytes?: number;
  /** Max number of tasks in the container; the runtime applies a default when undefined. */
  pids?: number;
}

export interface ContainerSpec {
  /** Unique on the node; safe as a path component and cgroup name (e.g. "default.hello-7f9c2-x8k2p"). */
  id: string;
  hostname: string;
  /** Image reference, e.g. "busybox" or "busybox:latest". */
  image: string;
  /** argv of the user process (command followed by args); argv[0] is looked up in the image's PATH. */
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  limits: ContainerLimits;
  /** Where stdout and stderr are appended; default: the container's own dir (removed with it).
   *  The agent keeps logs per replica so that they survive container restarts. */
  logPath?: string;
  /** Labels kept with the container state (namespace, service, replica, template hash). */
  labels: Record<string, string>;
  /** 'host' shares the node's network namespace; 'bridge' (the API's default) gets a network
   *  namespace of its own, wired to the node's bridge. Runtime default: 'host'. */
  network?: NetworkMode;
  /** A bridge container's /etc/resolv.conf (the node's DNS); absent: the host's name servers. */
  dns?: ContainerDnsConfig;
  /** "uid", "uid:gid", "name" or "name:group", names looked up in the image's /etc/passwd and /etc/group. Default: root. */
  user?: string;
  /** Mounts the container's root read-only (its /dev, /proc, /dev/shm and /tmp-less image stay as they are). */
  readOnlyRootFilesystem?: boolean;
  /** RuntimeDefault (Docker's default seccomp profile, the default) or Unconfined (no filter). */
  seccompProfile?: SeccompProfileType;
  /** Directories and files of the node bound into the container (volumes), in order. */
  mounts?: ContainerMount[];
  /**
   * Variables from Secrets: added to `env` for the process, never written to the container's state
   * file (an adopted container's spec lacks them; a restart gets them from the agent again).
   */
  secretEnv?: Record<string, string>;
  /** The main process's stdio when clients attach to it (`docker run -i`/`-t`); absent: stdin is
   *  /dev/null and stdout and stderr the log file. */
  stdio?: ContainerStdio;
  /** Image builds only (never set from the API): the root is these unpacked layers of the node's image
   *  store, lowest first, instead of `image`'s; the image config is then not consulted. */
  rootfsLayers?: string[];
}

export type NetworkMode = 'host' | 'bridge';

/**
 * stdin: a pipe whose writing end the runtime holds (attach writes to it; its end is the process's
 * EOF). tty: a terminal of the container's devpts as stdin, stdout and stderr, whose master the
 * runtime holds and copies into the log (stdin then is the terminal's input).
 */
export interface ContainerStdio {
  stdin: boolean;
  tty: boolean;
}

export interface ContainerMount {
  /** On the node: a directory (or, with a sub path, a file) the runtime binds as it is. */
  source: string;
  /** Absolute path in the container. */
  target: string;
  directory: boolean;
  readOnly: boolean;
}

/** The lines of a resolv.conf: `nameserver` each, one `search`, one `options`. */
export interface ContainerDnsConfig {
  nameservers: string[];
  search: string[];
  options: string[];
}

export type SeccompProfileType = 'RuntimeDefault' | 'Unconfined';

export interface ContainerExitStatus {
  /** Exit code if the process exited, null if killed by a signal. */
  code: number | null;
  /** Signal name ("SIGKILL") if killed by a signal. */
  signal: string | null;
  /** True when the kernel's OOM killer killed a task of this container. */
  oomKilled: boolean;
  finishedAt: Date;
}

export interface ContainerInfo {
  id: string;
  spec: ContainerSpec;
  /** Host PID of the container's PID 1 (the user's process). */
  pid: number;
  startedAt: Date;
  /** Set once the container's process has exited; the container still exists until remove(). */
  exit?: ContainerExitStatus;
  logPath: string;
  /** The container's address on the node's bridge (network 'bridge' only). */
  ip?: string;
  /** Its cgroup is frozen (pause()): as the kernel says at list() and after pause()/unpause(), so a
   *  restarted agent finds a paused container paused. */
  paused?: boolean;
  /** The container's copy-on-write layer (overlay upperdir) on the host, where the runtime has one:
   *  an image build turns it into the layer of a RUN step once the container has exited. */
  upperDir?: string;
}

/** One sample of a container's cgroup, read at once (cAdvisor's figures, same definitions). */
export interface ContainerUsage {
  /** CPU time of every task of the container, user + system (cpuacct.usage; v2 cpu.stat usage_usec). */
  cpuUsageSeconds: number;
  /** Usage minus inactive file cache: what cannot be reclaimed easily, what the OOM killer weighs. */
  memoryWorkingSetBytes: number;
  /** Everything charged to the group, page cache included (memory.usage_in_bytes; v2 memory.current). */
  memoryUsageBytes: number;
  /** Undefined when unlimited. */
  memoryLimitBytes?: number;
  /** CFS bandwidth in µs, when a CPU limit is set (cpu.cfs_quota_us / cpu.cfs_period_us; v2 cpu.max). */
  cpuQuotaMicros?: number;
  cpuPeriodMicros?: number;
  /** Times the kernel's OOM killer killed a task of the group. */
  oomEvents: number;
}

export interface ContainerRuntime {
  /** Starts a container and resolves once the user's process has been exec'd. Rejects with a
   *  RuntimeError (e.g. code 'ImageNotFound') without leaving anything behind. */
  start(spec: ContainerSpec): Promise<ContainerInfo>;
  /** Containers found on this node (live or exited but not removed), including those started by a
   *  previous agent process: this is how a restarted agent adopts its containers. */
  list(): Promise<ContainerInfo[]>;
  /** Resolves when the container's process exits (immediately if it already has). */
  wait(id: string): Promise<ContainerExitStatus>;
  /** SIGTERM, then SIGKILL after graceSeconds; resolves when the process is gone. */
  stop(id: string, graceSeconds: number): Promise<ContainerExitStatus>;
  /** Removes an exited container: rootfs mount, upper layer, cgroups, state files. Idempotent. */
  remove(id: string): Promise<void>;
  usage(id: string): Promise<ContainerUsage | undefined>;
  /** Freezes every process of a running container (the cgroup freezer) and resolves once they are
   *  stopped; rejects with NotFound for an unknown or exited container. Idempotent. */
  pause(id: string): Promise<void>;
  /** Thaws a paused container. Idempotent. stop() and remove() thaw a paused container themselves. */
  unpause(id: string): Promise<void>;
  /** Runs another process inside a running container: its namespaces, cgroup, root, user and
   *  security settings (as `docker exec`). Rejects with NotFound for an unknown or exited container.
   *  Resolves once the process runs in the container's cgroup; a command that cannot be started then
   *  ends the session with exit code 127 (not found) or 126 and the reason on its stderr, as a shell does.
   *  Rejects with Paused for a paused container (its process would not run). */
  exec(id: string, options: ExecOptions): Promise<ExecSession>;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

export interface ExecOptions {
  argv: string[];
  /** Added to the container's environment. */
  env?: Record<string, string>;
  /** Default: the container's working directory. */
  workingDir?: string;
  /** Default: the container's user. */
  user?: string;
  /** Allocates a terminal: stdin/stdout are the terminal (stderr is merged into it), the process is a
   *  session leader with the terminal as its controlling tty. */
  tty: boolean;
  /** Initial terminal size (tty only). */
  size?: TerminalSize;
}

export interface ExecSession {
  /** Host pid of the exec'd process. */
  pid: number;
  /** The process's stdin (with a tty: the terminal's input). End it to send EOF. */
  stdin: NodeJS.WritableStream;
  /** The process's stdout (with a tty: everything the terminal shows). */
  stdout: NodeJS.ReadableStream;
  /** The process's stderr; undefined with a tty (merged into stdout). */
  stderr?: NodeJS.ReadableStream;
  /** Changes the terminal size (tty only; a no-op otherwise). */
  resize(size: TerminalSize): void;
  /** Signals the exec'd process. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited and its output has been read to the end. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export type RuntimeErrorCode = 'ImageNotFound' | 'InvalidSpec' | 'StartFailed' | 'NotFound' | 'Paused' | 'Internal';

export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}
