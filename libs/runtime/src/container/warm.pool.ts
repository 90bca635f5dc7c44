/**
 * The warm pool: inits spawned ahead of time, booted and waiting for a container's config. A start
 * that finds one skips the init's launch, its staged mounts and (cgroup v1) its cgroup join. Members are keyed by the namespace
 * set they were cloned into (namespacesFor(network)):
 * an init can only become a container that wants exactly its namespaces.
 *
 * A set is kept warm once a start has asked for it. Refills run in the background after a claim,
 * never on a start's path. Members are no containers: no state file, no cgroup, invisible to list()
 * and adoption; one that dies while waiting is dropped. close() kills every member.
 *
 * How many: `size` at least, and as many as the largest burst of concurrent starts of the set seen
 * within the last `burstMemoryMs` (at most `maxSize`). A service scaled out by 10 on a node starts
 * 10 containers at once: with 2 warm, 8 launch and stage an init each on the burst's path, and join
 * a cgroup there (an RCU grace period each on cgroup v1, warm.cgroup.ts); the next burst of that size
 * finds them all booted. Peaks come back (the web tiers Tide is for scale out again and again within a
 * sale), and a burst that does not recur costs its inits' memory until the memory lapses, when the
 * extra members are killed.
 */
import { WaitingInit } from './launch';

/** How many times ready() replaces members that die while booting before it gives up. */
const READY_ATTEMPTS = 3;

/** The part of a waiting init the pool uses (launch.ts's WaitingInit; a fake in unit tests). */
export type PoolMember = Pick<WaitingInit, 'usable' | 'keepAlive' | 'discard' | 'exited' | 'ready' | 'warmCgroup'>;

export interface WarmPoolLimits {
  /** The most members kept per set, whatever the bursts (default: `size`, no growth). */
  maxSize?: number;
  /** How long a burst keeps its size warm after it was last seen (default 10 minutes). */
  burstMemoryMs?: number;
  now?: () => number;
}

export class WarmPool<M extends PoolMember = WaitingInit> {
  private readonly members = new Map<number, M[]>();
  /** The largest recent burst per set, and when a burst that large was last seen. */
  private readonly bursts = new Map<number, { starts: number; seenAt: number }>();
  private closed = false;
  private refillQueued = false;
  /** Fires when a burst's memory lapses, to kill the extra members. */
  private lapseTimer?: NodeJS.Timeout;
  private readonly maxSize: number;
  private readonly burstMemoryMs: number;
  private readonly now: () => number;

  constructor(
    /** Members kept per namespace set at least; 0 disables the pool. */
    readonly size: number,
    private readonly spawn: (namespaces: number) => M,
    limits: WarmPoolLimits = {},
  ) {
    this.maxSize = Math.max(size, limits.maxSize ?? size);
    this.burstMemoryMs = limits.burstMemoryMs ?? 10 * 60_000;
    this.now = limits.now ?? Date.now;
  }

  /** `starts` starts of this set are running at once: keep that many warm for the next burst. */
  sawBurst(namespaces: number, starts: number): void {
    if (this.size === 0) return;
    const known = this.bursts.get(namespaces);
    if (known && known.starts > starts && !this.lapsed(known)) return;
    this.bursts.set(namespaces, { starts: Math.max(starts, known && !this.lapsed(known) ? known.starts : 0), seenAt: this.now() });
  }

  /**
   * A burst of `starts` is expected soon (ahead of a scheduled floor or a forecast rise, the control
   * plane's word): keep that many of the set booted from now, as if the burst had been seen (its
   * memory lapses the same way), and fill in the background. A set never started yet is kept warm
   * from here on, so the burst's first start is warm too.
   */
  expect(namespaces: number, starts: number): void {
    if (this.size === 0 || this.closed) return;
    this.setOf(namespaces);
    this.sawBurst(namespaces, starts);
    this.refillSoon();
  }

  /** Members wanted for the set now. */
  target(namespaces: number): number {
    const burst = this.bursts.get(namespaces);
    const recent = burst && !this.lapsed(burst) ? burst.starts : 0;
    return Math.min(this.maxSize, Math.max(this.size, recent));
  }

  private lapsed(burst: { seenAt: number }): boolean {
    return this.now() - burst.seenAt > this.burstMemoryMs;
  }

  /** A waiting init with these namespaces, or undefined (the caller starts cold). From now on this
   *  set is kept warm. Members found dead are dropped. */
  take(namespaces: number): M | undefined {
    if (this.size === 0 || this.closed) return undefined;
    const list = this.setOf(namespaces);
    for (let member = list.shift(); member; member = list.shift()) {
      if (!member.usable()) {
        void member.discard();
        continue;
      }
      // Taken for a start: from now on the caller waits on it (its cgroup, its claim), so its watch
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
    // Members do not keep the process alive (their watches and pipes are unref'd): a caller waiting for them does.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
        this.refill();
        // Booted, and in its warm cgroup where it gets one: nothing left to do before a claim.
        const booted = await Promise.all(list.map(async (member) => (await Promise.all([member.ready, member.warmCgroup]))[0]));
        if (booted.every(Boolean) && list.length >= this.target(namespaces)) return;
      }
    } finally {
      clearInterval(keepAlive);
    }
    throw new Error(`the warm pool cannot keep ${this.size} container inits booted: they exit while waiting`);
  }

  /** Kills every member and stops refilling; resolves once their processes and fds are gone. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.lapseTimer);
    const all = [...this.members.values()].flat();
    this.members.clear();
    await Promise.all(all.map((member) => member.discard()));
  }

  /** Number of members per namespace set (for tests). */
  counts(): Map<number, number> {
    return new Map([...this.members].map(([namespaces, list]) => [namespaces, list.length]));
  }

  private setOf(namespaces: number): M[] {
    let list = this.members.get(namespaces);
    if (!list) this.members.set(namespaces, (list = []));
    return list;
  }

  private refill(): void {
    if (this.closed) return;
    for (const [namespaces, list] of this.members) {
      const target = this.target(namespaces);
      while (list.length < target) this.add(namespaces, list);
      // A burst's memory lapsed: its extra inits go (the newest: the oldest have booted for sure).
      for (const extra of list.splice(target)) void extra.discard();
    }
    this.watchLapse();
  }

  /** While a burst holds a set above `size`, wakes up when its memory lapses (not keeping the process alive). */
  private watchLapse(): void {
    clearTimeout(this.lapseTimer);
    const lapses = [...this.bursts.values()].filter((b) => b.starts > this.size && !this.lapsed(b)).map((b) => b.seenAt + this.burstMemoryMs);
    if (lapses.length === 0) return;
    this.lapseTimer = setTimeout(() => this.refill(), Math.max(0, Math.min(...lapses) - this.now()) + 1);
    this.lapseTimer.unref();
  }

  private add(namespaces: number, list: M[]): void {
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
