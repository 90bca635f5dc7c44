/**
 * Which virtual IP each Service gets from the service range, and which claims are stale. The
 * leader's allocator claims an address in etcd (created only if absent) before writing it into the
 * Service's status, so two allocators can never hand one address to two services; these pure
 * functions choose what to try and what to free.
 */
import { CidrError, Service, cidrContains, cidrSize, formatIPv4, parseCidr, parseIPv4 } from '@tide/api';

/** "namespace/name" of a service: the value of its address's claim. */
export function serviceOwner(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The service range given with --service-cidr, checked: room for a few services at least. */
export function parseServiceCidr(text: string): string {
  const cidr = parseCidr(text);
  if (cidr.prefix > 28) throw new CidrError(`"${text}" is too small for a service range (at most a /28)`);
  return text.trim();
}

function inRange(range: string, address: string): boolean {
  try {
    return cidrContains(parseCidr(range), parseIPv4(address));
  } catch {
    return false;
  }
}

/**
 * The addresses to try for a service, best first: the one its status records (a service keeps its
 * address), then one a claim says it holds (an allocation cut short before the status was
 * written), then the free ones in order, without the range's first and last addresses.
 */
export function* serviceIpCandidates(range: string, owner: string, recorded: string | undefined, claims: ReadonlyMap<string, string>): Generator<string> {
  const tried = new Set<string>();
  if (recorded && inRange(range, recorded) && (claims.get(recorded) ?? owner) === owner) {
    tried.add(recorded);
    yield recorded;
  }
  for (const [address, holder] of claims) {
    if (holder === owner && !tried.has(address) && inRange(range, address)) {
      tried.add(address);
      yield address;
    }
  }
  const cidr = parseCidr(range);
  for (let i = 1; i < cidrSize(cidr) - 1; i++) {
    const address = formatIPv4(cidr.network + i);
    if (!claims.has(address) && !tried.has(address)) yield address;
  }
}

/** Services whose status has no address yet, or one that its claim does not give them. */
export function servicesNeedingIp(services: Service[], claims: ReadonlyMap<string, string>, range: string): Service[] {
  return services.filter((s) => {
    const ip = s.status?.clusterIP;
    if (!ip) return !s.metadata.deletionTimestamp;
    return !inRange(range, ip) || claims.get(ip) !== serviceOwner(s.metadata.namespace, s.metadata.name);
  });
}

/**
 * Claims to free: those of services that no longer exist, and a second address a service holds
 * when its status records another one (an allocation retried after a lost write). A claim of a
 * service without an address yet is kept: it is that service's next address.
 */
export function staleServiceIpClaims(claims: ReadonlyMap<string, string>, services: Service[]): string[] {
  const recorded = new Map(services.map((s) => [serviceOwner(s.metadata.namespace, s.metadata.name), s.status?.clusterIP]));
  const stale: string[] = [];
  for (const [address, owner] of claims) {
    if (!recorded.has(owner)) stale.push(address);
    else {
      const ip = recorded.get(owner);
      if (ip && ip !== address && claims.get(ip) === owner) stale.push(address);
    }
  }
  return stale.sort();
}
