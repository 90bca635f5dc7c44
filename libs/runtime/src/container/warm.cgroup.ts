/**
 * Cgroups for warm inits. Joining a cgroup (writing cgroup.procs) takes the kernel's
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (10-15 ms here) unless
 * another join happened within the last one: the largest cost of a warm start. So, on cgroup v1, a
 * waiting init joins a group of its own ahead of time (`_warm-<agent pid>-<n>`, never a valid
 * container id), and a claim renames that group to the container's and writes its limits: no join
 * on the start path. cgroup v2 cannot rename groups: there the init joins at claim, as a cold one.
 */
import { CgroupManager, ContainerCgroup } from '../cgroups/cgroup.types';
import { ContainerLimits } from '../runtime.types';
import { WaitingInit } from './launch';
import { processStartTime } from './process';

const WARM_GROUP = /^_warm-(\d+)-\d+$/;
let sequence = 0;

export class WarmCgroups {
  private readonly removals = new Set<Promise<void>>();

  constructor(private readonly cgroups: CgroupManager) {}

  /**
   * Puts a pooled init in a group of its own once it has booted (its staged mounts made, charged
   * where the agent runs), so that its claim renames the group instead of joining one.
   */
  joinAhead(init: WaitingInit): WaitingInit {
    if (!this.cgroups.rename) return init;
    const name = `_warm-${process.pid}-${++sequence}`;
    init.warmCgroup = (async () => {
      if (!(await init.ready) || init.pid === undefined) return undefined;
      const group = await this.cgroups.create(name, {});
      try {
        await group.addProcess(init.pid);
        return name;
      } catch {
        await group.destroy();
        return undefined;
      }
    })().catch(() => undefined);
    // An init that dies unclaimed takes its group along (a claimed one's was renamed: a no-op then).
    void init.exited.then(() => {
      const removal = (async () => {
        await init.warmCgroup;
        await this.cgroups.open(name).destroy().catch(() => undefined);
      })();
      this.removals.add(removal);
      void removal.then(() => this.removals.delete(removal));
    });
    return init;
  }

  /** Resolves once the groups of the inits that have exited are gone (after the pool's close()). */
  async settled(): Promise<void> {
    await Promise.all(this.removals);
  }

  /** The container's group: the init's warm group renamed, or a new one it joins at "go" time. */
  async claim(init: WaitingInit, id: string, limits: ContainerLimits): Promise<ContainerCgroup> {
    const warm = await init.warmCgroup;
    if (warm && this.cgroups.rename) {
      try {
        return await this.cgroups.rename(warm, id, limits);
      } catch {
        // E.g. a stale group with the container's id: the init moves over when it joins.
      }
    }
    return this.cgroups.create(id, limits);
  }

  /** Removes warm groups left by an agent that died (its waiting inits died with it). */
  async sweep(): Promise<void> {
    for (const name of (await this.cgroups.list?.()) ?? []) {
      const owner = WARM_GROUP.exec(name)?.[1];
      if (owner && processStartTime(Number(owner)) === undefined) await this.cgroups.open(name).destroy().catch(() => undefined);
    }
  }
}
