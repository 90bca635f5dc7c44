/**
 * The control planes of a cluster, as they announce themselves in etcd: each puts
 * `/tide/v1/control-planes/<id>` → its gRPC address (where the others reach it) under a lease it
 * keeps alive, and watches the prefix to know the others. A stopped instance revokes its lease (its key
 * goes at once); a dead one's key goes when the lease expires. Used to forward usage reports between
 * instances (apps/control-plane usage.forwarder.ts).
 */
import { Etcd3, Lease, Watcher } from 'etcd3';
import { ROOT } from './keys';
import { rangeAll } from './paged.range';

export const CONTROL_PLANES_PREFIX = `${ROOT}control-planes/`;

/** Another control plane: its `--id` and the gRPC address it announced. */
export interface ControlPlanePeer {
  id: string;
  address: string;
}

export interface ControlPlaneDirectoryOptions {
  /** This instance's `--id`: its own key, left out of the peers. */
  id: string;
  address: string;
  /** Called with every other instance, each time the set changes. */
  onPeers(peers: ControlPlanePeer[]): void;
  log(line: string): void;
  /** How long a dead instance stays listed. */
  ttlSeconds?: number;
}

const RETRY_MS = 1000;

export class ControlPlaneDirectory {
  private lease?: Lease;
  private watcher?: Watcher;
  private readonly peers = new Map<string, string>();
  private stopped = false;

  constructor(private readonly client: Etcd3, private readonly options: ControlPlaneDirectoryOptions) {
    if (options.id.includes('/')) throw new RangeError(`--id "${options.id}": no '/' (it names this instance's key under ${CONTROL_PLANES_PREFIX})`);
  }

  async start(): Promise<void> {
    await this.announce();
    await this.list();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.cancel().catch(() => undefined);
    await this.lease?.revoke().catch(() => undefined);
  }

  /** Puts this instance's key under a fresh lease; when the lease is lost (etcd unreachable past its TTL), again. */
  private async announce(): Promise<void> {
    const lease = this.client.lease(this.options.ttlSeconds ?? 10);
    this.lease = lease;
    lease.on('lost', (error: Error) => {
      if (this.stopped || this.lease !== lease) return;
      this.options.log(`this control plane's entry in ${CONTROL_PLANES_PREFIX} was lost (${error.message}): announcing it again`);
      this.retry(() => this.announce());
    });
    await lease.put(`${CONTROL_PLANES_PREFIX}${this.options.id}`).value(this.options.address).exec();
  }

  /** Lists the prefix, then watches it from the next revision; a failed watch lists again. */
  private async list(): Promise<void> {
    const listed = await rangeAll(this.client, CONTROL_PLANES_PREFIX);
    this.peers.clear();
    for (const kv of listed.kvs) this.peers.set(kv.key.toString().slice(CONTROL_PLANES_PREFIX.length), kv.value.toString());
    this.publish();
    await this.watcher?.cancel().catch(() => undefined);
    if (this.stopped) return;
    const watcher = await this.client.watch().prefix(CONTROL_PLANES_PREFIX).startRevision(String(listed.revision + 1)).create();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      this.peers.set(kv.key.toString().slice(CONTROL_PLANES_PREFIX.length), kv.value.toString());
      this.publish();
    });
    watcher.on('delete', (kv) => {
      this.peers.delete(kv.key.toString().slice(CONTROL_PLANES_PREFIX.length));
      this.publish();
    });
    watcher.on('error', (error: Error) => {
      if (this.stopped || this.watcher !== watcher) return;
      this.options.log(`watching ${CONTROL_PLANES_PREFIX} failed (${error.message}): listing again`);
      this.retry(() => this.list());
    });
  }

  private retry(work: () => Promise<void>): void {
    setTimeout(() => {
      if (this.stopped) return;
      work().catch((error: Error) => {
        this.options.log(`${CONTROL_PLANES_PREFIX}: ${error.message}; trying again`);
        this.retry(work);
      });
    }, RETRY_MS).unref();
  }

  private publish(): void {
    const others = [...this.peers].filter(([id]) => id !== this.options.id).map(([id, address]) => ({ id, address }));
    this.options.onPeers(others.sort((a, b) => a.id.localeCompare(b.id)));
  }
}
