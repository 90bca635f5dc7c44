/**
 * The replicas behind one published port, as the balancer sees them: each with its count of
 * outstanding requests (HTTP) or open connections (TCP) and, for HTTP, its pool of idle keep-alive
 * connections. Choice: the power of two choices on outstanding work (Mitzenmacher): two backends at
 * random, the less busy one wins. Nearly as even as least-outstanding over all backends, O(1), and
 * without the herd effect of every node's balancer sending to the same "least loaded" replica.
 */
import type { Socket } from 'node:net';

export interface Target {
  host: string;
  port: number;
  /** The replica behind it (for logs). */
  replica?: string;
}

export class Backend {
  readonly key: string;
  /** Requests (HTTP) or connections (TCP) in flight to it from this node. */
  outstanding = 0;
  /** Idle keep-alive connections, the most recently used last. */
  readonly idle: Socket[] = [];
  /** It left the endpoints: no new work; its connections close once their exchange is over. */
  removed = false;
  /** Until then (ms, the set's clock) it is passed over while others can take the work: a connect to it failed. */
  failedUntil = 0;

  constructor(readonly host: string, readonly port: number, readonly replica = '') {
    this.key = `${host}:${port}`;
  }

  /** An idle connection to reuse, or undefined. */
  takeIdle(): Socket | undefined {
    for (let socket = this.idle.pop(); socket; socket = this.idle.pop()) {
      if (!socket.destroyed) return socket;
    }
    return undefined;
  }

  dropIdle(socket: Socket): void {
    const at = this.idle.indexOf(socket);
    if (at >= 0) this.idle.splice(at, 1);
  }

  closeIdle(): void {
    for (const socket of this.idle.splice(0)) socket.destroy();
  }
}

/**
 * A backend whose connect failed (refused: a replica marked ready before its server listens, or one
 * going away; no accept in time) is passed over this long while others can take the work, as
 * nginx's max_fails/fail_timeout do (1 failure, 10 s there): without it the least busy backend,
 * the one that refuses, is drawn first by every request.
 */
export const FAILED_BACKEND_PAUSE_MS = 1000;

/**
 * A backend that did not answer a connect at all (the connect timeout, no route to its host) is
 * most likely on a host that is down or cut off: it is passed over this long, past the time the
 * control plane takes to withdraw a lost node's endpoints (its lease, 5 s, and the grace), rather
 * than being tried again every second at the cost of a connect timeout each time (passive outlier
 * detection, as Envoy's outlier ejection does on consecutive connect failures).
 */
export const UNREACHABLE_BACKEND_PAUSE_MS = 10_000;

export class BackendSet {
  backends: Backend[] = [];
  /** Called after every update (an HTTP port hands queued requests to new replicas). */
  onUpdate?: () => void;
  /** The latest `failedUntil` of any backend: before it, picks skip paused backends. */
  private pausedUntil = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * A connect to `backend` failed: others get its work for a while, longer when its host did not
   * answer at all (`unreachable`), whose pooled connections are closed too (nothing would answer on them).
   */
  connectFailed(backend: Backend, unreachable = false): void {
    backend.failedUntil = this.now() + (unreachable ? UNREACHABLE_BACKEND_PAUSE_MS : FAILED_BACKEND_PAUSE_MS);
    this.pausedUntil = Math.max(this.pausedUntil, backend.failedUntil);
    if (unreachable) backend.closeIdle();
  }

  /** Takes a new set of targets; backends that stay keep their pools, counts and pauses. Returns the removed ones. */
  update(targets: Target[]): Backend[] {
    const current = new Map(this.backends.map((b) => [b.key, b]));
    const next: Backend[] = [];
    for (const target of targets) {
      const key = `${target.host}:${target.port}`;
      const kept = current.get(key);
      current.delete(key);
      next.push(kept ?? new Backend(target.host, target.port, target.replica));
    }
    this.backends = next;
    for (const gone of current.values()) {
      gone.removed = true;
      gone.closeIdle();
    }
    this.onUpdate?.();
    return [...current.values()];
  }

  /** Two at random, the one with less outstanding work; `exclude`: backends already tried for this request. */
  pick(exclude?: readonly Backend[], random: () => number = Math.random): Backend | undefined {
    const all = this.backends;
    let candidates = exclude && exclude.length ? all.filter((b) => !exclude.includes(b)) : all;
    if (this.pausedUntil > 0) {
      const now = this.now();
      if (now < this.pausedUntil) {
        const healthy = candidates.filter((b) => b.failedUntil <= now);
        if (healthy.length) candidates = healthy;
      } else {
        this.pausedUntil = 0;
      }
    }
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const i = Math.floor(random() * n);
    let j = Math.floor(random() * (n - 1));
    if (j >= i) j++;
    return candidates[j].outstanding < candidates[i].outstanding ? candidates[j] : candidates[i];
  }

  /**
   * As `pick`, but a backend with `limit` requests outstanding takes no more (0: no limit): when the
   * two drawn are both full, the least busy of the others; BUSY when every candidate is full, so the
   * request waits in its port's queue (HAProxy's maxconn per server and backend queue). A backend
   * paused after a failed connect is not room while another can take work once it finishes.
   */
  pickUnder(limit: number, exclude?: readonly Backend[], random: () => number = Math.random): Backend | typeof BUSY | undefined {
    const chosen = this.pick(exclude, random);
    if (!chosen || limit <= 0 || chosen.outstanding < limit) return chosen;
    const now = this.pausedUntil > 0 ? this.now() : 0;
    // `pick` drew a paused backend only when every candidate is paused: then any of them will do.
    const anyPaused = chosen.failedUntil > now;
    let best: Backend | undefined;
    for (const backend of this.backends) {
      if (backend.outstanding >= limit || (!anyPaused && backend.failedUntil > now) || exclude?.includes(backend)) continue;
      if (!best || backend.outstanding < best.outstanding) best = backend;
    }
    return best ?? BUSY;
  }

  /** Some backend could take a request now (`limit` and pauses as in `pickUnder`). */
  hasRoom(limit: number): boolean {
    if (this.backends.length === 0) return false;
    if (limit <= 0) return true;
    const now = this.pausedUntil > 0 ? this.now() : 0;
    let healthy = false;
    let pausedRoom = false;
    for (const backend of this.backends) {
      const paused = backend.failedUntil > now;
      if (!paused) healthy = true;
      if (backend.outstanding < limit) {
        if (!paused) return true;
        pausedRoom = true;
      }
    }
    return !healthy && pausedRoom;
  }
}

/** A connect error that says the backend's host did not answer (rather than refused). */
export function isUnreachable(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH' || error.code === 'ETIMEDOUT';
}

/** Every replica that could take the request has its limit of outstanding requests. */
export const BUSY = Symbol('busy');
