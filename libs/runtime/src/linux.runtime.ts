/**
 * The node's container runtime: images from the local store, an overlay root per container, cgroup
 * limits, and namespaces a container init is cloned into by a small native launcher (init.launcher.ts).
 * Containers outlive the agent; a new LinuxRuntime over the same state dir adopts them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { linuxSys } from '@tide/syscall';
import { detectCgroups } from './cgroups/cgroup';
import { CgroupManager, ContainerCgroup } from './cgroups/cgroup.types';
import { imageOf, initConfig } from './container/container.config';
import { ContainerState, ContainerStateFiles, exitFromState, exitToState } from './container/container.state';
import { awaitExitRecord } from './container/exit.record';
import { WaitingInit } from './container/launch';
import { ProcessHandle, processStartTime, sleep } from './container/process';
import { ExitWatcher, RawExit } from './container/exit.watcher';
import { WarmCgroups } from './container/warm.cgroup';
import { WarmPool } from './container/warm.pool';
import { StartTrace, StartTraceRecord } from './init/start.trace';
import { startExec } from './exec/exec.session';
import { ContainerRoot } from './files/container.root';
import { ContainerConsole } from './container/container.console';
import { ImageResolver, ImageStore } from './image/image.store';
import { InitConfig, namespacesFor } from './init/init.config';
import { makePrivateDir } from './isolation/private.files';
import { precompileSeccomp } from './isolation/seccomp';
import { BridgeSettings } from './network/bridge.settings';
import { BridgeAttacher, NetworkAttacher, PreparedNetwork } from './network/container.network';
import {
  ContainerExitStatus, ContainerInfo, ContainerRuntime, ContainerSpec, ContainerUsage, ExecOptions, ExecSession, NetworkMode,
  RuntimeError,
} from './runtime.types';
import { OverlaySnapshotter, Snapshotter } from './snapshot/overlay.snapshotter';

export interface LinuxRuntimeOptions {
  stateDir: string;
  /** The image store's directory (the default `images`). */
  imageDir: string;
  // The collaborators, each made from the directories above unless given (tests may pass fakes).
  /** Default: this machine's cgroup version (detectCgroups). */
  cgroups?: CgroupManager;
  /** Default: an ImageStore over `imageDir`. */
  images?: ImageResolver;
  /** Default: an OverlaySnapshotter under `STATE/containers`. */
  snapshots?: Snapshotter;
  /** Default: a BridgeAttacher over `bridge`, with its addresses under `STATE/network`. */
  network?: NetworkAttacher;
  /** The node's bridge network, for containers with network 'bridge'. A function because the agent
   *  learns its pod CIDR only when it registers, after creating the runtime (and adopting containers):
   *  until then it answers undefined, and bridge containers fail to start with a message saying why. */
  bridge?: () => BridgeSettings | undefined;
  /**
   * The CPU (millicores) every container of this machine may count on together: the weight of
   * their parent cgroup against the machine's other processes (CgroupManager.weighParent). Unset,
   * the parent keeps the weight it has.
   */
  containersCpuMillis?: number;
  /** Inits kept booted per namespace set, ready to become containers (default 2; 0 disables). A
   *  burst of concurrent starts keeps up to its size booted for a while (warm.pool.ts), at most
   *  `maxWarmPool` (default MAX_WARM_POOL, never below `warmPool`). */
  warmPool?: number;
  maxWarmPool?: number;
  /** Called after each successful start with the timestamps of its steps (the start benchmark's
   *  breakdown). Unset, nothing is recorded beyond a few clock reads, and nothing is sent. */
  onStartTrace?: (record: StartTraceRecord) => void;
}

export const DEFAULT_WARM_POOL = 2;
/**
 * The most inits a burst keeps warm per namespace set (the agent runs at most 16 starts at once).
 * Each costs a waiting native init (about 1 MB: its namespaces and staged mounts).
 */
export const MAX_WARM_POOL = 16;
/**
 * The pool is refilled once no start has run for this long: a refill launches and stages inits
 * (a few ms of CPU each, mostly the kernel's namespaces and mounts), which would otherwise compete
 * with the burst's own starts, and right after them
 * with the status reports and the control plane's writes that make the burst's replicas Running.
 */
const REFILL_AFTER_QUIET_MS = 500;
/** How long one read of every container's CPU time together serves usage() (a node's sample is one burst of calls). */
const CONTAINERS_CPU_FRESH_MS = 100;

/** A container this runtime instance knows: started by it, or adopted from a state file. */
interface Tracked {
  info: ContainerInfo;
  /** Undefined once the process is known to be gone. */
  process?: ProcessHandle;
  exited: Promise<ContainerExitStatus>;
  /** The last usage sample read (usage()). */
  lastUsage?: ContainerUsage;
  /** Every container's CPU time together when lastUsage was read (containersCpuSeconds). */
  lastUsageAtContainersCpu?: number;
  /** The runtime's end of an attachable stdio (started by this agent process only). */
  console?: ContainerConsole;
}

/**
 * Tests only (the crash-safe start e2e): a pause between the cgroup, address and veth being made and
 * the state file being written, the window in which a killed agent leaves a start half done.
 */
const START_PAUSE_MS = Number(process.env.TIDE_TEST_START_PAUSE_MS ?? 0);

/** Ids become path components and cgroup names. */
const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class LinuxRuntime implements ContainerRuntime {
  private readonly images: ImageResolver;
  private readonly snapshots: Snapshotter;
  private readonly states: ContainerStateFiles;
  private readonly cgroups: CgroupManager;
  private readonly network: NetworkAttacher;
  private readonly tracked = new Map<string, Tracked>();
  private readonly pool: WarmPool;
  private readonly warmCgroups: WarmCgroups;
  /** Where inits stage /proc, /dev and /sys before they know their container (native/init/stage.c). */
  private readonly stageDir: string;
  private readonly onStartTrace?: (record: StartTraceRecord) => void;
  /** Every container's exit, watched in this thread: no thread or timer per container. */
  private readonly exits = new ExitWatcher(linuxSys());
  /** Starts running now, per namespace set (the warm pool learns the bursts' sizes from it). */
  private readonly starting = new Map<number, number>();
  private refillTimer?: NodeJS.Timeout;
  private containersCpu?: { seconds: number | undefined; readAt: number };

  constructor(options: LinuxRuntimeOptions) {
    this.onStartTrace = options.onStartTrace;
    const containersDir = path.join(options.stateDir, 'containers');
    this.images = options.images ?? new ImageStore(options.imageDir);
    this.snapshots = options.snapshots ?? new OverlaySnapshotter(containersDir);
    this.states = new ContainerStateFiles(containersDir);
    this.cgroups = options.cgroups ?? detectCgroups();
    this.network = options.network ?? new BridgeAttacher(options.stateDir, options.bridge ?? (() => undefined));
    if (options.containersCpuMillis !== undefined) this.cgroups.weighParent(options.containersCpuMillis);
    this.warmCgroups = new WarmCgroups(this.cgroups);
    this.stageDir = path.join(options.stateDir, 'stage');
    // Not readable or traversable by other users: they lead to layers and upperdirs (private.files.ts).
    for (const dir of [options.stateDir, containersDir, this.stageDir, options.imageDir]) makePrivateDir(dir);
    const warmPool = options.warmPool ?? DEFAULT_WARM_POOL;
    this.pool = new WarmPool(warmPool, (namespaces) => this.warmCgroups.joinAhead(new WaitingInit(namespaces, this.stageDir, this.exits)), {
      maxSize: warmPool === 0 ? 0 : options.maxWarmPool ?? MAX_WARM_POOL,
    });
    if (this.pool.size > 0) void this.warmCgroups.sweep();
    precompileSeccomp(); // once per process, before the first start needs it
  }

  async start(spec: ContainerSpec): Promise<ContainerInfo> {
    const trace = this.onStartTrace ? new StartTrace() : undefined;
    trace?.mark('runtime: start() called');
    if (!VALID_ID.test(spec.id)) throw new RuntimeError('InvalidSpec', `container id "${spec.id}" must match ${VALID_ID}`);
    if (this.tracked.has(spec.id) || this.states.read(spec.id)) {
      throw new RuntimeError('InvalidSpec', `container ${spec.id} exists already: remove it first`);
    }
    // A directory without state.json is what an agent killed in the middle of a start leaves behind.
    if (fs.existsSync(this.states.dir(spec.id))) await this.remove(spec.id);
    const image = await imageOf(spec, this.images);
    const logPath = spec.logPath ?? this.states.logPath(spec.id);
    const config = initConfig(spec, image, logPath);
    trace?.mark('runtime: image resolved, config made');
    // Cold, the init is spawned first: it stages its mounts while the root and cgroup are made.
    const namespaces = namespacesFor(spec.network);
    const pooled = this.pool.take(namespaces);
    let init = pooled ?? new WaitingInit(namespaces, this.stageDir, this.exits);
    trace?.mark(pooled ? 'runtime: init taken from the pool' : 'runtime: launcher spawned');
    let cgroup: ContainerCgroup | undefined;
    // The init's end of an attachable stdio, copied before "go": the user's process never holds it.
    let consoleFd: number | undefined;
    // Made while the init builds the root, after the config has gone out: the pid must be in it only
    // at "go". Once per start, also when a lost init is replaced.
    let claim: Promise<ContainerCgroup> | undefined;
    const cgroupOnce = () => (claim ??= this.warmCgroups.claim(init, spec.id, spec.limits).then((made) => (cgroup = made)));
    this.startsBegin(namespaces);
    try {
      const network = spec.network === 'bridge' ? this.network.prepare(spec.id, spec.hostname, path.join(this.states.dir(spec.id), 'etc'), spec.dns) : undefined;
      // The overlay's directories and the log's must exist before the init reads its config.
      const rootfs = await this.snapshots.prepare(spec.id, image.layerDirs);
      fs.mkdirSync(path.dirname(logPath), { recursive: true });
      trace?.mark('runtime: dirs ready');
      const bindFiles = [...(network?.bindFiles ?? []), ...(spec.mounts ?? []).map((m) => ({ source: m.source, target: m.target, directory: m.directory, readOnly: m.readOnly }))];
      const full: InitConfig = { ...config, rootfs, ...(bindFiles.length ? { bindFiles } : {}) };
      const onSpawned = async (process: ProcessHandle) => {
        await this.joined(spec, cgroupOnce, process, network, trace);
        if (spec.stdio) consoleFd = await takeConsole(init, process);
      };
      let launch = init.start(full, onSpawned, trace);
      const process = await launch.started.catch(async (error: Error) => {
        if (!init.lost) throw error;
        // The init died before "go" without a word: killed while it waited in the pool, say. None
        // of the user's code ran: go on once with a cold init, which joins the cgroup at "go".
        await init.discard();
        init = new WaitingInit(namespaces, this.stageDir, this.exits);
        launch = init.start(full, onSpawned, trace);
        return launch.started;
      });
      if (trace) this.onStartTrace?.({ id: spec.id, warm: pooled !== undefined, marks: trace.marks });
      const tracked = this.track(spec, process, cgroup!, launch.exited);
      if (spec.stdio && consoleFd !== undefined) tracked.console = new ContainerConsole(consoleFd, spec.stdio, logPath, tracked.exited);
      return tracked.info;
    } catch (error) {
      // Undo in reverse: the init is killed (by the launcher, or here if it was never started); once
      // it is gone the cgroup can go, also one whose creation failed half-way.
      await init.discard();
      if (consoleFd !== undefined) fs.closeSync(consoleFd);
      await claim?.catch(() => undefined); // not destroyed while still being made
      await (cgroup ?? this.cgroupOf(spec.id))?.destroy().catch(() => undefined);
      await this.network.release(spec.id).catch(() => undefined);
      this.states.remove(spec.id);
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError('StartFailed', `container ${spec.id}: ${(error as Error).message}`);
    } finally {
      this.startsEnd(namespaces);
    }
  }

  private startsBegin(namespaces: number): void {
    const now = (this.starting.get(namespaces) ?? 0) + 1;
    this.starting.set(namespaces, now);
    this.pool.sawBurst(namespaces, now);
    clearTimeout(this.refillTimer);
  }

  /** The last start of a burst ended: the pool is refilled once the node has been quiet a moment. */
  private startsEnd(namespaces: number): void {
    this.starting.set(namespaces, this.starting.get(namespaces)! - 1);
    if ([...this.starting.values()].some((n) => n > 0)) return;
    clearTimeout(this.refillTimer);
    this.refillTimer = setTimeout(() => this.pool.refillSoon(), REFILL_AFTER_QUIET_MS);
    this.refillTimer.unref();
  }

  /** Keeps inits for this network mode booted in the pool and resolves once they are (the pool warms
   *  a mode by itself after its first start; tests and the bench wait for it). Without a pool there is
   *  nothing to boot ahead. */
  warmUp(network: NetworkMode = 'host'): Promise<void> {
    if (this.pool.size === 0) return Promise.resolve();
    return this.pool.ready(namespacesFor(network));
  }

  /** `starts` starts of this network mode are expected soon: the warm pool boots that many ahead (warm.pool.ts `expect`). */
  expectStarts(network: NetworkMode, starts: number): void {
    this.pool.expect(namespacesFor(network), starts);
  }

  /** Kills the warm pool's waiting inits (containers keep running). The agent calls it on SIGTERM. */
  async close(): Promise<void> {
    clearTimeout(this.refillTimer);
    await this.pool.close();
    await this.warmCgroups.settled();
  }

  /**
   * Crash-safe start: frees what an agent killed in the middle of a start or a removal left behind,
   * before anything else runs (no start may be in flight). A container directory without a state file
   * goes with its cgroup (v1 or v2), address and veth; an address (and veth) held by a container
   * that has no state file is freed; warm pool groups of dead agents go. Containers with a state
   * file are left to adoption (list). Answers what was swept, for the log.
   */
  async sweepLeftovers(): Promise<string[]> {
    const swept: string[] = [];
    for (const id of this.states.leftovers()) {
      if (!VALID_ID.test(id)) continue; // not a directory this runtime made
      swept.push(await this.remove(id).then(
        () => `container ${id} (directory, cgroup, address, veth)`,
        (error: Error) => `container ${id}: not removed (${error.message})`,
      ));
    }
    const kept = new Set(this.states.ids());
    for (const id of (await this.network.sweep?.(kept)) ?? []) swept.push(`address and veth of ${id}`);
    await this.warmCgroups.sweep();
    return swept;
  }


  /** Between spawn and "go": the init joins its cgroup (made now, with its limits), gets its network
   *  and is recorded, before the user's code runs. */
  private async joined(
    spec: ContainerSpec, cgroupOnce: () => Promise<ContainerCgroup>, process: ProcessHandle, network?: PreparedNetwork, trace?: StartTrace,
  ): Promise<void> {
    const joining = cgroupOnce().then((cgroup) => {
      trace?.mark('runtime: cgroup with limits ready');
      return cgroup.addProcess(process.pid);
    });
    await Promise.all([joining, network && this.network.attach(process.pid, network)]);
    if (START_PAUSE_MS > 0) await sleep(START_PAUSE_MS); // tests only: a start to kill the agent in
    const pidStartTime = processStartTime(process.pid);
    if (pidStartTime === undefined) throw new Error('the container init exited before it could start the command');
    // A Secret's variables stay in memory: the state file is on the node's disk.
    const { secretEnv: _inMemoryOnly, ...stored } = spec;
    this.states.write(spec.id, {
      spec: stored, pid: process.pid, pidStartTime, startedAt: new Date().toISOString(),
      ...(network ? { network: { ip: network.ip, hostVeth: network.hostVeth } } : {}),
    });
  }

  private track(spec: ContainerSpec, process: ProcessHandle, cgroup: ContainerCgroup, raw: Promise<RawExit>): Tracked {
    const exited = raw.then(async ({ code, signal }) => {
      // The cgroup is fresh per container, so any OOM kill it counts happened to this container.
      const oomKilled = (await cgroup.oomKillCount().catch(() => 0)) > 0;
      return this.recordExit(spec.id, tracked, { code, signal, oomKilled, finishedAt: new Date() });
    });
    // The spec as started (a Secret's variables included, for exec), not the stored one.
    const tracked: Tracked = { info: { ...this.infoOf(this.states.read(spec.id)!), spec }, process, exited };
    this.tracked.set(spec.id, tracked);
    return tracked;
  }

  private recordExit(id: string, tracked: Tracked, exit: ContainerExitStatus): ContainerExitStatus {
    tracked.info.exit = exit;
    tracked.process?.close();
    tracked.process = undefined;
    const state = this.states.read(id);
    if (state) this.states.write(id, { ...state, exit: exitToState(exit) });
    return exit;
  }

  private infoOf(state: ContainerState): ContainerInfo {
    return {
      id: state.spec.id,
      spec: state.spec,
      pid: state.pid,
      startedAt: new Date(state.startedAt),
      logPath: state.spec.logPath ?? this.states.logPath(state.spec.id),
      upperDir: this.snapshots.upperDir(state.spec.id),
      ...(state.network ? { ip: state.network.ip } : {}),
      ...(state.exit ? { exit: exitFromState(state.exit) } : {}),
    };
  }

  async list(): Promise<ContainerInfo[]> {
    const out: ContainerInfo[] = [];
    for (const id of this.states.ids()) {
      const tracked = this.find(id);
      if (!tracked) continue;
      // An adopted container found dead gets its exit recorded before anyone sees it as running.
      if (!tracked.info.exit && tracked.process === undefined) await tracked.exited;
      tracked.info.paused = !tracked.info.exit && this.cgroupOf(id)?.frozen() === true;
      out.push(tracked.info);
    }
    return out;
  }

  private find(id: string): Tracked | undefined {
    return this.tracked.get(id) ?? this.adopt(id);
  }

  /**
   * Takes over a container started by an earlier agent process. Not our child: the exit watcher
   * sees it end, and its code is the exit record that the node's reaper wrote when it reaped it
   * (exit.record.ts), also for a container that ended while no agent ran.
   */
  private adopt(id: string): Tracked | undefined {
    const state = this.states.read(id);
    if (!state) return undefined;
    const info = this.infoOf(state);
    const process = info.exit ? undefined : ProcessHandle.adopt(linuxSys(), state.pid, state.pidStartTime);
    const exited = info.exit
      ? Promise.resolve(info.exit)
      : (process ? this.exits.watch(process, false) : Promise.resolve()).then(async () => {
          const record = await awaitExitRecord(this.states.dir(id), state.pid, process !== undefined);
          const oomKilled = ((await this.cgroupOf(id)?.oomKillCount().catch(() => 0)) ?? 0) > 0;
          return this.recordExit(id, tracked, {
            code: record?.code ?? null, signal: record?.signal ?? null, oomKilled, finishedAt: record ? new Date(record.finishedAt) : new Date(),
          });
        });
    const tracked: Tracked = { info, process, exited };
    this.tracked.set(id, tracked);
    return tracked;
  }

  private get(id: string): Tracked {
    const tracked = this.find(id);
    if (!tracked) throw new RuntimeError('NotFound', `container ${id} not found`);
    return tracked;
  }

  wait(id: string): Promise<ContainerExitStatus> {
    return this.get(id).exited;
  }

  async stop(id: string, graceSeconds: number): Promise<ContainerExitStatus> {
    const tracked = this.get(id);
    if (tracked.info.exit) return tracked.info.exit;
    // A frozen process would get its SIGTERM only once thawed (and on cgroup v1 not even its SIGKILL).
    await this.unpause(id);
    tracked.process?.signal('SIGTERM');
    const graceful = await Promise.race([tracked.exited.then(() => true), sleep(graceSeconds * 1000).then(() => false)]);
    if (!graceful) {
      // Killing PID 1 of a PID namespace makes the kernel kill every other process in it.
      tracked.process?.signal('SIGKILL');
      await this.cgroupOf(id)?.killAll().catch(() => undefined);
    }
    return tracked.exited;
  }

  async remove(id: string): Promise<void> {
    const tracked = this.find(id);
    if (tracked && !tracked.info.exit) {
      await this.unpause(id);
      tracked.process?.signal('SIGKILL');
      await tracked.exited;
    }
    tracked?.process?.close();
    tracked?.console?.close();
    // destroy() kills whatever is left in the group (a process that escaped the PID namespace's
    // teardown cannot exist, but a cgroup is the place to be sure) before removing it.
    await this.cgroupOf(id)?.destroy();
    await this.network.release(id);
    await this.snapshots.remove(id);
    this.states.remove(id);
    this.tracked.delete(id);
  }

  async usage(id: string): Promise<ContainerUsage | undefined> {
    // Known containers skip the state file: a scrape asks for every container of the node.
    const tracked = this.tracked.get(id);
    if (!tracked && !this.states.read(id)) return undefined;
    // No container ran since this one's last sample (their parent's CPU time stands still): that
    // sample stands, and not one of its files is read. Read before the container's own counter, so
    // that the stamp kept with the sample can only be older than it, never newer.
    const containersCpu = this.containersCpuSeconds();
    if (tracked?.lastUsage && containersCpu !== undefined && containersCpu === tracked.lastUsageAtContainersCpu) return tracked.lastUsage;
    // The previous sample spares re-reading a container that did not run since (cgroup.types.ts).
    const usage = await this.cgroupOf(id)?.usage(tracked?.lastUsage).catch(() => undefined);
    if (tracked) {
      tracked.lastUsage = usage;
      tracked.lastUsageAtContainersCpu = containersCpu;
    }
    return usage;
  }

  /** The parent group's CPU counter, read at most once per CONTAINERS_CPU_FRESH_MS: a sample of the
   *  node asks for every container within a few ms. Older is safe: it can only miss less movement. */
  private containersCpuSeconds(): number | undefined {
    const now = performance.now();
    if (!this.containersCpu || now - this.containersCpu.readAt > CONTAINERS_CPU_FRESH_MS) {
      this.containersCpu = { seconds: this.cgroups.containersCpuSeconds?.(), readAt: now };
    }
    return this.containersCpu.seconds;
  }

  async pause(id: string): Promise<void> {
    const tracked = this.get(id);
    if (tracked.info.exit || !tracked.process) throw new RuntimeError('NotFound', `container ${id} is not running`);
    await this.cgroupOf(id)?.freeze();
    tracked.info.paused = true;
  }

  async unpause(id: string): Promise<void> {
    const tracked = this.get(id);
    const cgroup = this.cgroupOf(id);
    if (cgroup?.frozen()) await cgroup.thaw();
    tracked.info.paused = false;
  }

  /** The container's process settings (image and spec, as at its start) with the exec's over them. */
  async exec(id: string, options: ExecOptions): Promise<ExecSession> {
    const tracked = this.get(id);
    if (tracked.info.exit || !tracked.process) throw new RuntimeError('NotFound', `container ${id} is not running`);
    if (tracked.info.paused) throw new RuntimeError('Paused', `container ${id} is paused: unpause it before exec`);
    if (options.argv.length === 0) throw new RuntimeError('InvalidSpec', 'exec needs a command');
    const spec = tracked.info.spec;
    const image = await imageOf(spec, this.images);
    const base = initConfig({ ...spec, argv: options.argv }, image, tracked.info.logPath);
    const env = new Map(base.env.map((e) => [e.slice(0, e.indexOf('=')), e] as const));
    for (const [key, value] of Object.entries(options.env ?? {})) env.set(key, `${key}=${value}`);
    const user = options.user ?? base.user;
    return startExec(
      { id, pid: tracked.info.pid, process: tracked.process, cgroup: this.cgroupOf(id) },
      {
        argv: options.argv, env: [...env.values()], workingDir: options.workingDir ?? base.workingDir, tty: options.tty,
        ...(user ? { user } : {}), ...(base.seccomp ? { seccomp: base.seccomp.toString('base64') } : {}),
      },
      options.size,
    );
  }

  /**
   * A client's session on the main process's stdio (`docker attach`, `docker run -i`/`-t`): the
   * terminal's output from now on (`replay`: since the start), its input and size; ends with the
   * container. NotFound when it is not running or has no attachable stdio here.
   */
  attach(id: string, replay: boolean): ExecSession {
    const tracked = this.get(id);
    if (tracked.info.exit || !tracked.process) throw new RuntimeError('NotFound', `container ${id} is not running`);
    if (!tracked.console) {
      const why = tracked.info.spec.stdio ? 'its stdio was lost when the agent restarted' : 'it was started without stdin or a terminal';
      throw new RuntimeError('NotFound', `container ${id} cannot be attached to: ${why}`);
    }
    return tracked.console.attach(replay);
  }

  /** Sends a signal to the container's main process (`docker kill --signal`); NotFound when it is not running. */
  signal(id: string, signal: NodeJS.Signals): void {
    const tracked = this.get(id);
    if (tracked.info.exit || !tracked.process) throw new RuntimeError('NotFound', `container ${id} is not running`);
    tracked.process.signal(signal);
  }

  /**
   * The container's root file system as its process sees it, volumes included (files/container.root.ts),
   * for copying files in and out; NotFound when it is not running. `description` names it in messages.
   */
  openRoot(id: string, description: string): ContainerRoot {
    const tracked = this.get(id);
    const gone = () => new RuntimeError('NotFound', `${description} is not running`);
    if (tracked.info.exit || !tracked.process) throw gone();
    let root: ContainerRoot;
    try {
      root = ContainerRoot.open(linuxSys(), `/proc/${tracked.info.pid}/root`, description);
    } catch {
      throw gone();
    }
    // Opened by pid: only the pidfd, still alive after the open, says this pid was not reused.
    if (!tracked.process.alive()) {
      root.close();
      throw gone();
    }
    return root;
  }

  /** open() may answer undefined for a group that does not exist (the CgroupManager contract allows it). */
  private cgroupOf(id: string): ContainerCgroup | undefined {
    return this.cgroups.open(id) ?? undefined;
  }
}

/** Copies the init's end of the container's attachable stdio into this process (init.pipes.ts, splitStatus). */
async function takeConsole(init: WaitingInit, process: ProcessHandle): Promise<number> {
  const fd = await init.consoleFd;
  if (fd === undefined) throw new Error('the container init ended before it opened the container\'s stdin or terminal');
  if (process.fd === undefined) throw new Error('a container with stdin or a terminal needs pidfds (Linux 5.6)');
  return linuxSys().pidfdGetfd(process.fd, fd);
}
