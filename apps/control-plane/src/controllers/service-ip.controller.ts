/**
 * Gives every Service its virtual IP from the service range (--service-cidr) and frees the address
 * of a deleted one. Leader only. An address is first claimed in etcd (a key created only if absent,
 * libs/store ServiceIpClaims), then written into the Service's `status.clusterIP`: a control plane
 * that dies in between leaves a claim naming the service, which the next pass (on any leader)
 * adopts. The claims are read from etcd once per leadership and kept here; only the leader writes
 * them, and every write is a compare-and-swap, so a stale copy costs a retry, never a duplicate.
 */
import { Service } from '@tide/api';
import { serviceIpCandidates, serviceOwner, servicesNeedingIp, staleServiceIpClaims } from '@tide/control';
import { ClusterCache, NotFoundError, ObjectStore, ServiceIpClaims } from '@tide/store';
import { EventRecorder } from './events.recorder';

export class ServiceIpRangeFullError extends Error {
  constructor(range: string) {
    super(`no free address left in the service range ${range}: delete services or restart the control plane with a larger --service-cidr`);
    this.name = 'ServiceIpRangeFullError';
  }
}

export class ServiceIpController {
  private claims?: Map<string, string>;
  private written = 0;
  /** Services told (by a Warning event) that the range is full, until they get an address. */
  private readonly toldFull = new Set<string>();

  constructor(
    readonly range: string,
    private readonly store: ObjectStore,
    private readonly cache: ClusterCache,
    private readonly etcdClaims: Pick<ServiceIpClaims, 'list' | 'claim' | 'release'>,
    private readonly events?: EventRecorder,
  ) {}

  /** A new leader reads the claims again: another instance may have changed them meanwhile. */
  forget(): void {
    this.claims = undefined;
  }

  async sync(): Promise<void> {
    await this.cache.waitFor(this.written);
    this.claims ??= await this.etcdClaims.list();
    const services = this.cache.list('Service');
    for (const service of servicesNeedingIp(services, this.claims, this.range)) {
      try {
        await this.assign(service);
      } catch (error) {
        if (!(error instanceof ServiceIpRangeFullError)) throw error;
        await this.tellFull(service, error);
      }
    }
    for (const ip of staleServiceIpClaims(this.claims, this.cache.list('Service'))) {
      const owner = this.claims.get(ip)!;
      await this.etcdClaims.release(ip, owner);
      this.claims.delete(ip);
    }
  }

  /** Once per service (not every pass): the Service stays without an address until one is freed. */
  private async tellFull(service: Service, error: ServiceIpRangeFullError): Promise<void> {
    const owner = serviceOwner(service.metadata.namespace, service.metadata.name);
    if (this.toldFull.has(owner)) return;
    this.toldFull.add(owner);
    await this.events?.record({ kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name }, 'Warning', 'ServiceIpPending', error.message);
  }

  private async assign(service: Service): Promise<void> {
    const claims = this.claims!;
    const { namespace, name } = service.metadata;
    const owner = serviceOwner(namespace, name);
    for (const ip of serviceIpCandidates(this.range, owner, service.status?.clusterIP, claims)) {
      const holder = claims.get(ip) === owner ? owner : await this.etcdClaims.claim(ip, owner);
      claims.set(ip, holder);
      if (holder !== owner) continue; // taken meanwhile (our copy was stale): the next one
      this.toldFull.delete(owner);
      try {
        const stored = await this.store.mutate<Service>('Service', namespace, name, (current) => (
          current.status?.clusterIP === ip ? undefined : { ...current, status: { ...(current.status ?? emptyStatus()), clusterIP: ip } }));
        this.written = Math.max(this.written, Number(stored.metadata.resourceVersion ?? 0));
        if (service.status?.clusterIP !== ip) void this.events?.record({ kind: 'Service', namespace, name }, 'Normal', 'ServiceIpAllocated', `service IP ${ip}`).catch(() => undefined);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        // Deleted meanwhile: the claim goes with the stale ones of this pass.
      }
      return;
    }
    throw new ServiceIpRangeFullError(this.range);
  }
}

function emptyStatus(): NonNullable<Service['status']> {
  return { replicas: 0, readyReplicas: 0, runningReplicas: 0, pendingReplicas: 0 };
}
