/**
 * The cgroup v1 freezer of one container (`<root>/freezer/<parent>/<id>`, freezer.state
 * THAWED | FREEZING | FROZEN). The group is made at the first pause, not at the start: joining a
 * controller's group costs an RCU grace period per start (cgroup-v1.ts), and few containers are ever
 * paused. The group is frozen while still empty and the container's tasks are moved in after: the
 * kernel freezes a task as it joins a frozen group (legacy_freezer.c, freezer_attach), and a frozen
 * task cannot fork, so moving what the container's pids group lists until nothing is left out
 * catches children forked during the move too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSmallFile } from './cgroup.read';
import { removeGroupDir } from './cgroup.files';

/** Rounds of moving the container's tasks in; each round only finds tasks forked during the one before. */
const MAX_MOVE_ROUNDS = 50;
const SETTLE_POLL_MS = 5;
/** A freeze waits this long for FREEZING to become FROZEN (a task in an uninterruptible sleep holds it). */
const SETTLE_TIMEOUT_MS = 5_000;

export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

export class CgroupV1Freezer {
  /** `mount`: the freezer hierarchy's mount point; `dir`: the container's group in it. */
  constructor(private readonly mount: string, readonly dir: string) {}

  get available(): boolean {
    return fs.existsSync(path.join(this.mount, 'cgroup.procs'));
  }

  /** THAWED when the group does not exist: a container never paused. */
  state(): FreezerState {
    return (readSmallFile(path.join(this.dir, 'freezer.state'))?.trim() as FreezerState | undefined) ?? 'THAWED';
  }

  /** `pids`: the container's tasks now (its pids group); called again after each move. */
  async freeze(pids: () => Promise<number[]>): Promise<void> {
    if (!this.available) throw new Error(`cannot pause: the cgroup v1 freezer is not mounted at ${this.mount} (mount -t cgroup -o freezer cgroup ${this.mount})`);
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'freezer.state'), 'FROZEN');
    for (let round = 0; round < MAX_MOVE_ROUNDS; round++) {
      const inside = new Set(this.tasks());
      const outside = (await pids()).filter((pid) => !inside.has(pid));
      if (outside.length === 0) return this.settle('FROZEN');
      for (const pid of outside) await moveTask(path.join(this.dir, 'cgroup.procs'), pid);
    }
    throw new Error(`cannot pause: the tasks of ${this.dir} kept changing over ${MAX_MOVE_ROUNDS} rounds`);
  }

  async thaw(): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    fs.writeFileSync(path.join(this.dir, 'freezer.state'), 'THAWED');
    await this.settle('THAWED');
  }

  /** Thawed first: a frozen group's killed tasks would not die, and rmdir would wait for them forever. */
  async destroy(pids: () => Promise<number[]>): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    await this.thaw();
    await removeGroupDir(this.dir, pids);
  }

  private tasks(): number[] {
    return (readSmallFile(path.join(this.dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  private async settle(wanted: FreezerState): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (this.state() !== wanted) {
      if (Date.now() > deadline) throw new Error(`${this.dir}: freezer.state is still ${this.state()} after ${SETTLE_TIMEOUT_MS / 1000} s, not ${wanted}`);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
  }
}

/** A task that exited meanwhile (ESRCH) has nothing left to freeze. */
async function moveTask(procs: string, pid: number): Promise<void> {
  try {
    await fs.promises.writeFile(procs, String(pid));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
