/**
 * Service addresses and names: every Service gets a virtual IP from the service range, reachable on
 * each of its ports (`port`, default `containerPort`) from every container and node, and the name
 * `NAME.NAMESPACE.svc.tide` that each node's DNS answers with it.
 */
import { ServicePort } from './types';

/** The service range (`--service-cidr`): kept apart from the container network (100.64.0.0/16). */
export const DEFAULT_SERVICE_CIDR = '100.96.0.0/16';

/** The cluster's DNS domain: services are `NAME.NAMESPACE.svc.tide`. */
export const CLUSTER_DOMAIN = 'tide';

/** The port a service port answers on at the service's IP. */
export function servicePortNumber(port: Pick<ServicePort, 'containerPort' | 'port'>): number {
  return port.port ?? port.containerPort;
}

/** The fully qualified name of a service, without the trailing dot. */
export function serviceDnsName(namespace: string, name: string, domain = CLUSTER_DOMAIN): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** The search list of a container of `namespace`: `NAME` and `NAME.NAMESPACE` then resolve as services. */
export function dnsSearchDomains(namespace: string, domain = CLUSTER_DOMAIN): string[] {
  return [`${namespace}.svc.${domain}`, `svc.${domain}`, domain];
}
