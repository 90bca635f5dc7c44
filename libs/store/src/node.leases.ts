/**
 * Node liveness: each node has a key bound to an etcd lease; the agent's heartbeats keep the lease
 * alive through whichever control plane it talks to. When the lease expires etcd deletes the key,
 * and the leader's node lifecycle controller sees the node gone quiet.
 */
import { Etcd3, Lease } from 'etcd3';
import { LEASE_PREFIX, leaseKey } from './keys';
import { rangeAll } from './paged.range';

export class NodeLeases {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly client: Etcd3,
    readonly ttlSeconds: number,
  ) {}

  /** Grants a fresh lease for the node (on register) and binds its liveness key. */
  async grant(node: string): Promise<void> {
    this.leases.get(node)?.release();
    const lease = this.client.lease(this.ttlSeconds, { autoKeepAlive: false });
    await lease.put(leaseKey(node)).value(new Date().toISOString()).exec();
    this.leases.set(node, lease);
  }

  /** One heartbeat. Returns false when this control plane holds no live lease for the node. */
  async renew(node: string): Promise<boolean> {
    const lease = this.leases.get(node);
    if (!lease || lease.revoked()) return false;
    try {
      await lease.keepaliveOnce();
      return true;
    } catch {
      this.leases.delete(node);
      return false;
    }
  }

  /** Nodes whose liveness key exists right now (read in pages; the control plane's loops ask its cache). */
  async alive(): Promise<Set<string>> {
    const { kvs } = await rangeAll(this.client, LEASE_PREFIX, { keysOnly: true });
    return new Set(kvs.map((kv) => kv.key.toString().slice(LEASE_PREFIX.length)));
  }

  close(): void {
    for (const lease of this.leases.values()) lease.release();
    this.leases.clear();
  }
}
