/**
 * Resolver files: the host's name servers (where the node's DNS forwards other names), and what a
 * bridge container's /etc/resolv.conf says (the node's DNS, the search list of its namespace).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { dnsSearchDomains } from '@tide/api';

export interface Upstream {
  host: string;
  port: number;
}

/** `nameserver` lines of a resolv.conf text, in order (port 53). */
export function nameserversOf(text: string): Upstream[] {
  return text.split('\n').map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1]).filter((host): host is string => host !== undefined && net.isIP(host) !== 0)
    .map((host) => ({ host, port: 53 }));
}

export function hostNameservers(file = '/etc/resolv.conf'): Upstream[] {
  try {
    return nameserversOf(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/** "IP", "IP:PORT" or "[IPv6]:PORT", comma separated (--dns-upstream); throws naming the bad entry. */
export function parseUpstreams(text: string): Upstream[] {
  return text.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? /^([^:]+)(?::(\d+))?$/.exec(entry);
    const host = match?.[1];
    const port = Number(match?.[2] ?? 53);
    if (!host || net.isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`"${entry}" is not IP, IP:PORT or [IPv6]:PORT`);
    }
    return { host, port };
  });
}

/** What a container of `namespace` is told: the node's DNS, its search list, ndots as Kubernetes. */
export interface ContainerDns {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function containerDns(server: string, namespace: string): ContainerDns {
  return { nameservers: [server], search: dnsSearchDomains(namespace), options: ['ndots:5'] };
}
