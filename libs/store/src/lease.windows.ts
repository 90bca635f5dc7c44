/**
 * Leases for objects that expire on their own (Events): rather than one lease per object (a grant
 * per write, and as many leases as events), one lease per window of time, shared by every object
 * written in that window. A lease granted at a window's start with TTL `ttl + window` keeps each of
 * its objects between `ttl` and `ttl + window` seconds; etcd deletes them when it expires.
 */
import { Etcd3 } from 'etcd3';

export const EVENT_TTL_SECONDS = 3600;

export class LeaseWindows {
  private window?: { id: Promise<string>; endsAt: number };

  /** `windowSeconds`: how long one lease is handed out (default a tenth of the TTL). */
  constructor(private readonly client: Etcd3, readonly ttlSeconds = EVENT_TTL_SECONDS, private readonly windowSeconds = Math.max(1, Math.ceil(ttlSeconds / 10))) {}

  /** The current window's lease ID (granted on first use in the window; a failed grant is tried again by the next caller). */
  current(now = Date.now()): Promise<string> {
    if (!this.window || now >= this.window.endsAt) {
      const id = this.client.lease(this.ttlSeconds + this.windowSeconds, { autoKeepAlive: false }).grant();
      const window = { id, endsAt: now + this.windowSeconds * 1000 };
      this.window = window;
      id.catch(() => {
        if (this.window === window) this.window = undefined;
      });
    }
    return this.window.id;
  }
}
