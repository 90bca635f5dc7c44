/** The interface every cgroup version implements: limits, membership, usage, OOM kills, teardown. */
import { ContainerLimits, ContainerUsage } from '../runtime.types';

export const DEFAULT_PIDS_LIMIT = 1024;

export interface ContainerCgroup {
  readonly id: string;
  addProcess(pid: number): Promise<void>;
  /**
   * The group's usage. Given the group's previous sample: when its CPU time has not moved, the
   * previous sample again (a process that did not run allocated nothing; one file read instead of
   * six: an idle node's sampling costs per container that ran, not per container); otherwise the
   * memory and OOM counters are read anew and the limits (set at creation, never changed) carried over.
   */
  usage(previous?: ContainerUsage): Promise<ContainerUsage>;
  oomKillCount(): Promise<number>;
  /** Pids still in the group. */
  pids(): Promise<number[]>;
  killAll(): Promise<void>;
  /**
   * Pauses every task of the group (the cgroup freezer: v1 freezer.state FROZEN, v2 cgroup.freeze 1),
   * resolving once the kernel reports the group frozen. Tasks stay where they are, signals wait.
   */
  freeze(): Promise<void>;
  /** Resumes the group's tasks; a group that is not frozen is left as it is. */
  thaw(): Promise<void>;
  /** Whether the group is frozen (or freezing) now: read from the kernel, so it holds across agent restarts. */
  frozen(): boolean;
  /** Kills what is left, waits until the group is empty and removes it. Idempotent. */
  destroy(): Promise<void>;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  create(id: string, limits: ContainerLimits): Promise<ContainerCgroup>;
  open(id: string): ContainerCgroup;
  /**
   * Gives the parent group (every container of this machine together) the CPU weight of
   * `cpuMillis`, as the kubelet weighs kubepods at the node's allocatable CPU: each container's
   * weight is its request, so without this the whole group would weigh one core (the default)
   * against each busy process outside it, and replicas would get less than their requests.
   */
  weighParent(cpuMillis: number): void;
  /**
   * The CPU time, in seconds, of every container together (the parent group's counter, which
   * counts its descendants); undefined when it cannot be read. While it does not move, no container
   * ran, and no container's usage needs reading: one file read per sample for an idle node.
   */
  containersCpuSeconds?(): number | undefined;
  // --- warm starts (cgroup v1 only: v2 cannot rename a group, there warm inits join at claim)
  /** Renames a group (one a warm init joined ahead of time) to its container's and sets its limits. */
  rename?(from: string, to: string, limits: ContainerLimits): Promise<ContainerCgroup>;
  /** Names of the groups under the parent. */
  list?(): Promise<string[]>;
}
