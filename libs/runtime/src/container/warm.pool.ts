/**
 * The warm pool: inits spawned ahead of time, each in its own start worker, booted and waiting for a
 * container's config. A start that finds one skips the worker's and the init's boot, the bulk of a
 * cold start. Members are keyed by the namespace set their worker unshared (namespacesFor(network)):
 * an init can only become a container that wants exactly its namespaces.
 *
 * A set is kept warm once a start has asked for it. Refills run in the background after a claim,
 * never on a start's path. Members are no containers: no state file, no cgroup, invisible to list()
 * and adoption; one that dies while waiting is dropped. close() kills every member.
 */
import { WaitingInit } from './launch';

/** How many times ready() replaces members that die while booting before it gives up. */
const READY_ATTEMPTS = 3;

export class WarmPool {
  private readonly members = new Map<number, WaitingInit[]>();
  private closed = false;
  private refillQueued = false;

  constructor(
    /** Members kept per namespace set; 0 disables the pool. */
    readonly size: number,
    private readonly spawn: (namespaces: number) => WaitingInit,
  ) {}

  /** A waiting init with these namespaces, or undefined (the caller starts cold). From now on this
   *  set is kept warm. Members found dead are dropped. */
  take(namespaces: number): WaitingInit | undefined {
    if (this.size === 0 || this.closed) return undefined;
    const list = this.setOf(namespaces);
    for (let member = list.shift(); member; member = list.shift()) {
      if (!member.usable()) {
        void member.discard();
        continue;
      }
      // Taken for a start: from now on the caller waits on it (its cgroup, its claim), so its worker
      // must keep the event loop alive, as a cold init's does.
      member.keepAlive();
      return member;
    }
    return undefined;
  }

  /** Tops every set up in the background, after the current start has finished its work. */
  refillSoon(): void {
    if (this.refillQueued || this.closed || this.size === 0) return;
    this.refillQueued = true;
    setImmediate(() => {
      this.refillQueued = false;
      this.refill();
    });
  }

  /** Keeps this set warm and resolves once it holds `size` booted members (tests, the bench). */
  async ready(namespaces: number): Promise<void> {
    if (this.size === 0 || this.closed) return;
    const list = this.setOf(namespaces);
    // Members do not keep the process alive (their workers are unref'd): a caller waiting for them does.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
        this.refill();
        // Booted, and in its warm cgroup where it gets one: nothing left to do before a claim.
        const booted = await Promise.all(list.map(async (member) => (await Promise.all([member.ready, member.warmCgroup]))[0]));
        if (booted.every(Boolean) && list.length >= this.size) return;
      }
    } finally {
      clearInterval(keepAlive);
    }
    throw new Error(`the warm pool cannot keep ${this.size} container inits booted: they exit while waiting`);
  }

  /** Kills every member and stops refilling; resolves once their processes and workers are gone. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.members.values()].flat();
    this.members.clear();
    await Promise.all(all.map((member) => member.discard()));
  }

  /** Number of members per namespace set (for tests). */
  counts(): Map<number, number> {
    return new Map([...this.members].map(([namespaces, list]) => [namespaces, list.length]));
  }

  private setOf(namespaces: number): WaitingInit[] {
    let list = this.members.get(namespaces);
    if (!list) this.members.set(namespaces, (list = []));
    return list;
  }

  private refill(): void {
    if (this.closed) return;
    for (const [namespaces, list] of this.members) {
      while (list.length < this.size) this.add(namespaces, list);
    }
  }

  private add(namespaces: number, list: WaitingInit[]): void {
    const member = this.spawn(namespaces);
    list.push(member);
    void member.exited.then(async () => {
      const index = list.indexOf(member);
      if (index < 0) return; // claimed or discarded
      list.splice(index, 1);
      // Killed while waiting (after a good boot): replace it. One that died while booting is not
      // replaced in a loop; the next claim refills.
      if (await member.ready) this.refillSoon();
    });
  }
}
