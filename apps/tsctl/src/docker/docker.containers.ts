/**
 * Docker's container verbs over Tide: start scales the container's Service to 1 and waits for its
 * replica to run, stop scales it to 0 and waits for the replica to go (the agent sends SIGTERM, then
 * SIGKILL after the grace period), remove deletes the Service. `--rm` containers are removed once
 * they exit and every attached stream has read their last output.
 */
import * as os from 'node:os';
import type { Replica } from '@tide/api';
import { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { DockerNetworks } from './docker.networks';
import { volumeNamesLabel, volumesOfCreate } from './docker.volume.model';
import { DockerVolumes } from './docker.volumes';
import { AUTO_REMOVE_LABEL, Container, CreateBody, containerName, containerState, dockerName, exitCode, serviceFromCreate } from './docker.model';

/** How long start waits for a replica to run: a cold image pull on a loaded node included. */
const START_TIMEOUT_MS = 180_000;
/** Beyond the grace period, for the agent to report the replica gone. */
const STOP_SLACK_MS = 60_000;
/** The code of a run `docker stop` ended whose replica went before it reported an exit (128 + SIGTERM). */
const STOPPED_EXIT_CODE = 143;
/** A pause waits for the balancers to drop the replica (about a second), then for the freeze. */
const PAUSE_TIMEOUT_MS = 30_000;
/** How long after its last reader or waiter finished a container counts as followed (see followed()). */
const FOLLOW_GRACE_MS = 1500;
/** A wait or an attach lasts as long as its client wants. */
const FOREVER_MS = 7 * 24 * 3_600_000;

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export function isFinished(replica: Replica | undefined): boolean {
  return replica?.status?.phase === 'Succeeded' || replica?.status?.phase === 'Failed';
}

/** Started on its node: output can be read. */
export function hasOutput(replica: Replica | undefined): boolean {
  const phase = replica?.status?.phase;
  return replica?.spec.nodeName !== undefined && (phase === 'Starting' || phase === 'Running' || isFinished(replica));
}

export class ContainerVerbs {
  /** Starts, and streams reading a container's output, by container id: a `--rm` removal waits for them. */
  private readonly readers = new Map<string, Set<Promise<void>>>();
  /** One removal per `--rm` container, whoever asks first (start's watcher or a wait). */
  private readonly removals = new Map<string, Promise<number>>();
  /** Clients reading or waiting on a container (by id), and when the last of them finished. */
  private readonly followers = new Map<string, { count: number; lastEndedMs: number }>();

  readonly networks: DockerNetworks;
  readonly volumes: DockerVolumes;

  constructor(readonly containers: TideContainers) {
    this.networks = new DockerNetworks(containers);
    this.volumes = new DockerVolumes(containers);
  }

  async create(name: string | null, body: CreateBody): Promise<{ Id: string; Warnings: string[] }> {
    const placed = await this.networks.placement(containerName(name), body);
    const { volumes, volumeMounts, named } = volumesOfCreate(placed.body);
    const service = serviceFromCreate(placed.names, placed.namespace, placed.body, { ...placed.labels, ...volumeNamesLabel(named) });
    if (volumes.length) service.spec = { ...service.spec, volumes, volumeMounts };
    await this.volumes.ensure(named);
    const created = await this.containers.create(service, placed.names.docker);
    return { Id: created.id, Warnings: [] };
  }

  /** false: it was running already (Docker's 304). */
  async start(ref: string): Promise<boolean> {
    const container = await this.containers.find(ref);
    if (containerState(container).Running) return false;
    // A --rm container may finish before start has seen it run: its removal waits for the start.
    await this.track(container, this.startStopped(container));
    return true;
  }

  private async startStopped(found: Container): Promise<void> {
    let container = found;
    if (container.service.spec.replicas > 0) {
      // A finished replica stays while the Service wants one: a start replaces it.
      await this.containers.scale(container, 0);
      await this.containers.waitFor(container, (c) => !c?.replica, this.stopTimeout(container), 'removing the finished replica');
    }
    await this.containers.scale(container, 1);
    if (container.service.metadata.labels?.[AUTO_REMOVE_LABEL] === 'true') void this.removeOnExit(container).catch(() => undefined);
    container = await this.waitForRun(container);
    const exit = container.replica?.status?.lastExit;
    if (container.replica?.status?.phase === 'Failed' && exit && exit.code === null && exit.signal === null) {
      throw new DockerError(500, `container ${dockerName(container.service)} could not start: ${container.replica.status.message ?? exit.reason}`);
    }
  }

  private async waitForRun(container: Container): Promise<Container> {
    // A stop meanwhile (scaled to 0) ends the start too: its replica may go before the API saw it Running.
    const started = await this.containers.waitFor(container, (c) => !c || c.service.spec.replicas === 0 || c.replica?.status?.phase === 'Running' || isFinished(c.replica), START_TIMEOUT_MS, 'starting');
    if (!started) throw new DockerError(404, `container ${dockerName(container.service)} was removed while starting`);
    return started;
  }

  /** false: it was not running (Docker's 304). */
  async stop(ref: string): Promise<boolean> {
    const container = await this.containers.find(ref);
    if (!container.replica || isFinished(container.replica)) return false;
    await this.containers.scale(container, 0);
    let exit = container.replica.status?.lastExit;
    await this.containers.waitFor(container, (c) => {
      exit = c?.replica?.status?.lastExit ?? exit;
      return !c?.replica;
    }, this.stopTimeout(container), 'stopping');
    await this.containers.keepStoppedExit(container, exit ? exitCode(exit.code, exit.signal) : STOPPED_EXIT_CODE, exit?.finishedAt ?? new Date().toISOString());
    return true;
  }

  /**
   * `docker kill [-s SIGNAL]`: the signal to the main process (a process that traps it runs on).
   * SIGKILL, the default, answers once the run has ended; a container with a restart policy is
   * stopped instead, as its replica would otherwise start again.
   */
  async kill(ref: string, signal: string | null): Promise<void> {
    const container = await this.containers.find(ref);
    const name = signalName(signal || 'SIGKILL');
    if (!containerState(container).Running || !container.replica) throw new DockerError(409, `Container ${container.id} is not running`);
    const restarts = (container.service.spec.restartPolicy ?? 'Never') !== 'Never';
    if (name === 'SIGKILL' && restarts) {
      await this.stop(ref);
      return;
    }
    const replica = container.replica.metadata.name;
    await this.containers.signal(replica, name);
    if (name === 'SIGKILL') await this.containers.waitFor(container, (c) => c?.replica?.metadata.name !== replica || isFinished(c.replica), this.stopTimeout(container), 'killing');
  }

  /** `docker pause`: the replica's processes frozen by its node (the cgroup freezer); it leaves the balancers. */
  async pause(ref: string): Promise<void> {
    const container = await this.containers.find(ref);
    const state = containerState(container);
    if (state.Paused) throw new DockerError(409, `Container ${container.id} is already paused`);
    if (!state.Running || !container.replica) throw new DockerError(409, `Container ${container.id} is not running`);
    await this.containers.setPaused(container.replica, true);
    await this.waitForPhase(container, 'Paused', 'pausing');
  }

  async unpause(ref: string): Promise<void> {
    const container = await this.containers.find(ref);
    if (!containerState(container).Paused || !container.replica) throw new DockerError(409, `Container ${container.id} is not paused`);
    await this.containers.setPaused(container.replica, false);
    await this.waitForPhase(container, 'Running', 'unpausing');
  }

  /** Until the node reports the phase; a replica that ended or went meanwhile ends the wait too. */
  private async waitForPhase(container: Container, phase: 'Paused' | 'Running', what: string): Promise<void> {
    const name = container.replica?.metadata.name;
    await this.containers.waitFor(container, (c) => c?.replica?.metadata.name !== name || c?.replica?.status?.phase === phase || isFinished(c?.replica), PAUSE_TIMEOUT_MS, what);
  }

  async restart(ref: string): Promise<void> {
    await this.stop(ref);
    await this.start(ref);
  }

  async remove(ref: string, force: boolean): Promise<void> {
    const container = await this.containers.find(ref);
    if (containerState(container).Running && !force) {
      throw new DockerError(409, `You cannot remove a running container ${container.id}. Stop the container before attempting removal or force remove`);
    }
    await this.containers.remove(container);
    await this.containers.waitFor(container, (c) => c === undefined, this.stopTimeout(container), 'removing');
  }

  /** `POST /containers/{id}/wait`: the exit code once the condition holds. */
  async wait(ref: string, condition: WaitCondition, signal: AbortSignal): Promise<number> {
    const container = await this.containers.find(ref);
    if (condition === 'removed' && container.service.metadata.labels?.[AUTO_REMOVE_LABEL] === 'true') return this.removeOnExit(container, signal);
    if (condition === 'not-running' && !containerState(container).Running) return containerState(container).ExitCode;
    const exited = await this.waitForExit(container, signal);
    if (condition === 'removed') await this.containers.waitFor(container, (c) => c === undefined, FOREVER_MS, 'waiting for removal', signal);
    return exited;
  }

  /** The next exit: after a start if it has not started yet (docker run waits before it starts). */
  private async waitForExit(container: Container, signal?: AbortSignal): Promise<number> {
    const before = container.replica?.metadata.name;
    const isRun = (r: Replica | undefined): r is Replica => r !== undefined && (r.metadata.name !== before || !isFinished(container.replica));
    let run: Replica | undefined;
    const done = await this.containers.waitFor(container, (c) => {
      if (isRun(c?.replica)) run = c.replica;
      // Finished; or stopped (`docker stop` scales to 0: the run's replica goes); or removed.
      return !c || (isRun(c.replica) && isFinished(c.replica)) || (run !== undefined && !c.replica);
    }, FOREVER_MS, 'waiting for the container to exit', signal);
    const exit = (done?.replica ?? run)?.status?.lastExit;
    // A run stopped before its replica reported an exit: SIGTERM's code, as a shell gives it.
    return exit ? exitCode(exit.code, exit.signal) : run && !done?.replica ? STOPPED_EXIT_CODE : 0;
  }

  /** A `--rm` container: its exit code once it exited, its readers have read it all, and it is removed. */
  removeOnExit(container: Container, signal?: AbortSignal): Promise<number> {
    let removal = this.removals.get(container.id);
    if (!removal) {
      removal = (async () => {
        const code = await this.waitForExit(container);
        await Promise.allSettled([...(this.readers.get(container.id) ?? [])]);
        await this.containers.remove(container);
        await this.containers.waitFor(container, (c) => c === undefined, this.stopTimeout(container), 'removing');
        return code;
      })().finally(() => this.removals.delete(container.id));
      this.removals.set(container.id, removal);
    }
    if (!signal) return removal;
    return Promise.race([removal, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new DockerError(499, 'the client went away')), { once: true }))]);
  }

  /**
   * `--rm` containers a previous server left: the finished ones are removed now, the running ones once
   * they exit (dockerd does the same when it starts). Resolves with how many were removed now.
   */
  async adoptAutoRemoved(): Promise<number> {
    const mine = (await this.containers.list()).filter((c) => c.service.metadata.labels?.[AUTO_REMOVE_LABEL] === 'true');
    let removed = 0;
    for (const container of mine) {
      if (containerState(container).Status === 'exited') {
        await this.containers.remove(container);
        removed += 1;
      } else if (container.replica) {
        void this.removeOnExit(container).catch(() => undefined);
      }
    }
    return removed;
  }

  /** Counts a start or a stream reading the container's output until `reading` settles. */
  track(container: Container, reading: Promise<void>): Promise<void> {
    const set = this.readers.get(container.id) ?? new Set<Promise<void>>();
    this.readers.set(container.id, set);
    set.add(reading);
    return this.follow(container.id, reading).finally(() => {
      set.delete(reading);
      if (set.size === 0) this.readers.delete(container.id);
    });
  }

  /** Counts a client reading or waiting on the container until `work` settles. */
  follow<T>(id: string, work: Promise<T>): Promise<T> {
    const entry = this.followers.get(id) ?? { count: 0, lastEndedMs: 0 };
    this.followers.set(id, entry);
    entry.count += 1;
    return work.finally(() => {
      entry.count -= 1;
      entry.lastEndedMs = Date.now();
      // Forgotten once its grace is over, whether or not an events stream asked meanwhile.
      if (entry.count === 0) setTimeout(() => this.forget(id, entry), FOLLOW_GRACE_MS).unref();
    });
  }

  private forget(id: string, entry: { count: number }): void {
    if (entry.count === 0 && this.followers.get(id) === entry) this.followers.delete(id);
  }

  /**
   * Whether a client reads or waits on the container, or stopped within FOLLOW_GRACE_MS (the gap in
   * which a client whose output stream ended asks for the exit code). `docker events` holds a
   * container's die meanwhile: docker-compose stops following a container at its die, and prints its
   * exit only if its wait answered first.
   */
  followed(id: string, nowMs = Date.now()): boolean {
    const entry = this.followers.get(id);
    return entry !== undefined && (entry.count > 0 || nowMs - entry.lastEndedMs < FOLLOW_GRACE_MS);
  }

  private stopTimeout(container: Container): number {
    return (container.service.spec.terminationGracePeriodSeconds ?? 10) * 1000 + STOP_SLACK_MS;
  }
}

/** Docker's signal forms (`HUP`, `SIGHUP`, `1`, any case) as Node's name; 400 for another. */
export function signalName(signal: string): NodeJS.Signals {
  const numbers = os.constants.signals as Record<string, number>;
  const byNumber = /^\d+$/.test(signal) ? Object.keys(numbers).find((name) => numbers[name] === Number(signal)) : undefined;
  const name = byNumber ?? `SIG${signal.toUpperCase().replace(/^SIG/, '')}`;
  if (!(name in numbers)) throw new DockerError(400, `Invalid signal: ${signal}`);
  return name as NodeJS.Signals;
}
