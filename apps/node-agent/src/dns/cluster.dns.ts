/**
 * The answers of a node's DNS for the cluster domain: `NAME.NAMESPACE.svc.tide` → the service's
 * virtual IP (containers reach `NAME` and `NAME.NAMESPACE` through their search list), NXDOMAIN for
 * any other name under `tide.`; every other name is for the host's resolvers. Pure: packets in,
 * packets out (dns-packet's types), the records handed in.
 */
import * as dnsPacket from 'dns-packet';
import { CLUSTER_DOMAIN, ServiceAddress, serviceDnsName } from '@tide/api';

/** Short: a deleted or re-addressed service must stop resolving soon. */
export const SERVICE_TTL_SECONDS = 5;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Lower-case fully qualified service name (no trailing dot) → its IP. */
export type ServiceRecords = ReadonlyMap<string, string>;

export function serviceRecords(services: ServiceAddress[], domain = CLUSTER_DOMAIN): Map<string, string> {
  return new Map(services.map((s) => [serviceDnsName(s.namespace, s.service, domain).toLowerCase(), s.ip]));
}

/** Whether the name is ours to answer (the cluster domain), else it is forwarded. */
export function inClusterDomain(name: string, domain = CLUSTER_DOMAIN): boolean {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return lower === domain || lower.endsWith(`.${domain}`);
}

/** Names under the domain that exist without an address of their own: `tide`, `svc.tide`, `NS.svc.tide`. */
function isDomainNode(name: string, records: ServiceRecords, domain: string): boolean {
  if (name === domain || name === `svc.${domain}`) return true;
  const suffix = `.${name}`;
  return name.endsWith(`.svc.${domain}`) && [...records.keys()].some((fqdn) => fqdn.endsWith(suffix));
}

/**
 * The answer to a query for the cluster domain: A records of a service name, NOERROR without
 * answers for its other types (so that resolvers asking A and AAAA together take the A), NXDOMAIN
 * for a name that is not there. Only one question per query is answered (as every resolver sends).
 */
export function answerClusterQuery(query: dnsPacket.DecodedPacket, records: ServiceRecords, domain = CLUSTER_DOMAIN): dnsPacket.Packet {
  const question = query.questions?.[0];
  const base = {
    type: 'response' as const, id: query.id, questions: query.questions ?? [],
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED,
  };
  if (!question || (query.questions?.length ?? 0) !== 1) return { ...base, flags: base.flags | RCODE.FORMERR };
  const name = question.name.toLowerCase().replace(/\.$/, '');
  const ip = records.get(name);
  if (ip !== undefined) {
    const wantsA = (question.type === 'A' || (question.type as string) === 'ANY') && (question.class ?? 'IN') === 'IN';
    return { ...base, answers: wantsA ? [{ type: 'A', class: 'IN', name: question.name, ttl: SERVICE_TTL_SECONDS, data: ip }] : [] };
  }
  if (isDomainNode(name, records, domain)) return { ...base, answers: [] };
  return { ...base, flags: base.flags | RCODE.NXDOMAIN };
}

/** An answer carrying only an error code, for a query we could not serve (no upstream answered, say). */
export function errorAnswer(query: Pick<dnsPacket.DecodedPacket, 'id' | 'questions' | 'flags'>, rcode: number): dnsPacket.Packet {
  return {
    type: 'response', id: query.id, questions: query.questions ?? [],
    flags: dnsPacket.RECURSION_AVAILABLE | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
  };
}
