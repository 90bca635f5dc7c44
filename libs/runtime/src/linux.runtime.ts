/**
 * The node's container runtime: images from the local store, an overlay root per container, cgroup
 * limits, and namespaces entered by a container-init started from a fresh worker thread.
 * Containers outlive the agent; a new LinuxRuntime over the same state dir adopts them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CgroupManager, ContainerCgroup, detectCgroups } from './cgroups/cgroup';
import { ContainerState, ContainerStateFiles, exitFromState, exitToState } from './container/container.state';
import { isSameProcess, processStartTime, signal, sleep, waitUntilGone } from './container/process';
import { ImageStore, ResolvedImage } from './image/image.store';
import { CONTAINER_NAMESPACES, InitConfig, StartWorkerData } from './init/init.config';
import {
  ContainerExitStatus, ContainerInfo, ContainerRuntime, ContainerSpec, ContainerUsage, RuntimeError,
} from './runtime.types';
import { OverlaySnapshotter } from './snapshot/overlay.snapshotter';

export interface LinuxRuntimeOptions {
  stateDir: string;
  imageDir: string;
  cgroups?: CgroupManager;
}

interface Tracked {
  info: ContainerInfo;
  exited: Promise<ContainerExitStatus>;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const INIT_SCRIPT = path.join(__dirname, 'init/container-init.js');
const START_WORKER = path.join(__dirname, 'container/start.worker.js');

export class LinuxRuntime implements ContainerRuntime {
  private readonly images: ImageStore;
  private readonly snapshots: OverlaySnapshotter;
  private readonly states: ContainerStateFiles;
  private readonly cgroups: CgroupManager;
  private readonly tracked = new Map<string, Tracked>();

  constructor(options: LinuxRuntimeOptions) {
    const containersDir = path.join(options.stateDir, 'containers');
    this.images = new ImageStore(options.imageDir);
    this.snapshots = new OverlaySnapshotter(containersDir);
    this.states = new ContainerStateFiles(containersDir);
    this.cgroups = options.cgroups ?? detectCgroups();
  }

  async start(spec: ContainerSpec): Promise<ContainerInfo> {
    if (this.tracked.has(spec.id) || this.states.read(spec.id)) {
      throw new RuntimeError('InvalidSpec', `container ${spec.id} exists already: remove it first`);
    }
    const image = await this.images.resolve(spec.image);
    const initConfig = this.initConfig(spec, image);
    let cgroup: ContainerCgroup | undefined;
    let pid: number | undefined;
    try {
      const mount = await this.snapshots.prepare(spec.id, image.layerDirs);
      cgroup = await this.cgroups.create(spec.id, spec.limits);
      const started = await this.launch(spec, { ...initConfig, rootfs: mount }, cgroup, (p) => (pid = p));
      this.tracked.set(spec.id, started);
      return started.info;
    } catch (error) {
      if (pid !== undefined) signal(pid, 'SIGKILL');
      await cgroup?.destroy().catch(() => undefined);
      this.states.remove(spec.id);
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError('StartFailed', `container ${spec.id}: ${(error as Error).message}`);
    }
  }

  private initConfig(spec: ContainerSpec, image: ResolvedImage): Omit<InitConfig, 'rootfs'> {
    const argv = spec.argv.length > 0 ? spec.argv : [...(image.config.entrypoint ?? []), ...(image.config.cmd ?? [])];
    if (argv.length === 0) throw new RuntimeError('InvalidSpec', `no command given and image ${spec.image} has none`);
    const env = { ...image.config.env, ...spec.env, HOSTNAME: spec.hostname };
    const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    if (!('PATH' in env)) envList.unshift(DEFAULT_PATH);
    return { hostname: spec.hostname, argv, env: envList, workingDir: spec.workingDir ?? image.config.workingDir ?? '/' };
  }

  /** Spawns the init from a fresh worker, puts it in the cgroup, says "go", and waits for its execve. */
  private launch(spec: ContainerSpec, config: InitConfig, cgroup: ContainerCgroup, onPid: (pid: number) => void): Promise<Tracked> {
    const logPath = spec.logPath ?? this.states.logPath(spec.id);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const logFd = fs.openSync(logPath, 'a');
    const data: StartWorkerData = { initScript: INIT_SCRIPT, initConfig: JSON.stringify(config), logFd, namespaces: CONTAINER_NAMESPACES };
    const worker = new Worker(START_WORKER, { workerData: data });
    let resolveExit!: (exit: ContainerExitStatus) => void;
    const exited = new Promise<ContainerExitStatus>((resolve) => (resolveExit = resolve));
    return new Promise<Tracked>((resolve, reject) => {
      let state: ContainerState | undefined;
      worker.on('error', (error) => reject(error));
      worker.on('message', async (message: { type: string; pid?: number; message?: string; code?: number | null; signal?: string | null }) => {
        try {
          if (message.type === 'spawned') {
            fs.closeSync(logFd);
            onPid(message.pid!);
            await cgroup.addProcess(message.pid!);
            state = { spec, pid: message.pid!, pidStartTime: processStartTime(message.pid!) ?? 0, startedAt: new Date().toISOString() };
            this.states.write(spec.id, state);
            worker.postMessage({ type: 'go' });
          } else if (message.type === 'started') {
            resolve({ info: this.infoOf(state!), exited });
          } else if (message.type === 'failed') {
            reject(new RuntimeError('StartFailed', message.message!.trim()));
          } else if (message.type === 'exit') {
            const exit = { code: message.code ?? null, signal: message.signal ?? null, oomKilled: (await cgroup.oomKillCount()) > 0, finishedAt: new Date() };
            if (state && fs.existsSync(this.states.dir(spec.id))) this.states.write(spec.id, { ...state, exit: exitToState(exit) });
            const tracked = this.tracked.get(spec.id);
            if (tracked) tracked.info.exit = exit;
            resolveExit(exit);
            await worker.terminate();
          }
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  private infoOf(state: ContainerState): ContainerInfo {
    return {
      id: state.spec.id,
      spec: state.spec,
      pid: state.pid,
      startedAt: new Date(state.startedAt),
      logPath: state.spec.logPath ?? this.states.logPath(state.spec.id),
      ...(state.exit ? { exit: exitFromState(state.exit) } : {}),
    };
  }

  async list(): Promise<ContainerInfo[]> {
    const out: ContainerInfo[] = [];
    for (const id of this.states.ids()) {
      const tracked = this.tracked.get(id) ?? this.adopt(id);
      if (tracked) out.push(tracked.info);
    }
    return out;
  }

  /** Takes over a container started by an earlier agent process: not our child, so its exit is polled. */
  private adopt(id: string): Tracked | undefined {
    const state = this.states.read(id);
    if (!state) return undefined;
    const info = this.infoOf(state);
    let exited: Promise<ContainerExitStatus>;
    if (info.exit) {
      exited = Promise.resolve(info.exit);
    } else {
      exited = waitUntilGone(state.pid, state.pidStartTime).then(async () => {
        // Not our child: the exit code went to whoever reaped it; only an OOM kill is still knowable.
        const oom = (await this.cgroups.open(id).oomKillCount().catch(() => 0)) > 0;
        const exit: ContainerExitStatus = { code: null, signal: null, oomKilled: oom, finishedAt: new Date() };
        info.exit = exit;
        if (fs.existsSync(this.states.dir(id))) this.states.write(id, { ...state, exit: exitToState(exit) });
        return exit;
      });
    }
    const tracked = { info, exited };
    this.tracked.set(id, tracked);
    return tracked;
  }

  private get(id: string): Tracked {
    const tracked = this.tracked.get(id) ?? this.adopt(id);
    if (!tracked) throw new RuntimeError('NotFound', `container ${id} not found`);
    return tracked;
  }

  wait(id: string): Promise<ContainerExitStatus> {
    return this.get(id).exited;
  }

  async stop(id: string, graceSeconds: number): Promise<ContainerExitStatus> {
    const { info, exited } = this.get(id);
    if (info.exit) return info.exit;
    signal(info.pid, 'SIGTERM');
    const graceful = await Promise.race([exited.then(() => true), sleep(graceSeconds * 1000).then(() => false)]);
    if (!graceful) {
      signal(info.pid, 'SIGKILL');
      await this.cgroups.open(id).killAll().catch(() => undefined);
    }
    return exited;
  }

  async remove(id: string): Promise<void> {
    const tracked = this.tracked.get(id) ?? this.adopt(id);
    if (tracked && !tracked.info.exit && isSameProcess(tracked.info.pid, this.states.read(id)?.pidStartTime ?? -1)) {
      signal(tracked.info.pid, 'SIGKILL');
      await tracked.exited;
    }
    await this.cgroups.open(id).destroy();
    await this.snapshots.remove(id);
    this.states.remove(id);
    this.tracked.delete(id);
  }

  async usage(id: string): Promise<ContainerUsage | undefined> {
    if (!this.states.read(id)) return undefined;
    return this.cgroups.open(id).usage().catch(() => undefined);
  }
}
