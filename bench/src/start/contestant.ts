/**
 * One way of starting a container, as the start benchmark times it: `prepare` (untimed, before the
 * settle pause), `start` (timed), `after` (untimed but counted in the CPU time: the warm pool's
 * refill), `remove` (neither).
 */
import { ContainerLimits, LinuxRuntime } from '@tide/runtime';
import { RuncReference } from './runc.reference';

export interface Contestant {
  name: string;
  prepare?(id: string): Promise<void>;
  start(id: string): Promise<void>;
  after?(): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface Workload {
  argv: string[];
  limits: ContainerLimits;
  /** Tide only (the runc reference runs without a filter): --unconfined measures a start without one. */
  seccompProfile?: 'RuntimeDefault' | 'Unconfined';
}

/** Tide's start(): cold when the runtime has no pool; warm when it has one, refilled after each start. */
export function tideContestant(name: string, runtime: LinuxRuntime, work: Workload): Contestant {
  return {
    name,
    // Untimed: a no-op without a pool; with one, waits until it is full.
    prepare: () => runtime.warmUp(),
    async start(id) {
      await runtime.start({
        id, hostname: 'bench', image: 'busybox', argv: work.argv, env: {}, limits: work.limits, labels: {},
        ...(work.seccompProfile ? { seccompProfile: work.seccompProfile } : {}),
      });
    },
    // The refill of what the start took: its CPU belongs to the start, and it must not run under
    // the next measurement (of any contestant).
    after: () => runtime.warmUp(),
    async remove(id) {
      await runtime.stop(id, 0);
      await runtime.remove(id);
    },
  };
}

/** `runc run --detach` after the snapshot and its mount: the whole start. */
export function runcRunContestant(runc: RuncReference): Contestant {
  return { name: 'runc', start: (id) => runc.run(id), remove: (id) => runc.remove(id) };
}

/** `runc create` untimed, `runc start` timed: the unit of work the warm pool leaves to a start. */
export function runcStartOnlyContestant(runc: RuncReference): Contestant {
  return { name: 'runc_start_only', prepare: (id) => runc.create(id), start: (id) => runc.startCreated(id), remove: (id) => runc.remove(id) };
}
