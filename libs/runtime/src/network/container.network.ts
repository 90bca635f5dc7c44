/**
 * A bridge container's network: an address from the node's slice (before the init starts, so that
 * its /etc/hosts can name it), then, between spawn and "go", a veth pair whose host end joins the
 * bridge and whose other end is created directly inside the container's network namespace as eth0,
 * and the container's lo, address and default route. The veth dies with the namespace.
 * All of it by rtnetlink from the agent's thread (rtnetlink.ts): a few system calls, where a shell,
 * two `ip` and an nsenter cost four execs per start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCidr } from '@tide/api';
import { linuxSys } from '@tide/syscall';
import { BindFile } from '../init/init.config';
import { ContainerDnsConfig } from '../runtime.types';
import { BridgeSettings, hostVethNameFor } from './bridge.settings';
import { AddressAllocator } from './ipam';
import { NetworkError, linkExists } from './network.command';
import { RouteNetlink, addressRequest, defaultRouteRequest, deleteLinkRequest, linkUpRequest, vethRequest } from './rtnetlink';

/** The loopback device is the first of every network namespace. */
const LOOPBACK_INDEX = 1;

/** What a started bridge container keeps in its state file. */
export interface ContainerNetwork {
  ip: string;
  hostVeth: string;
}

/** A container about to start: its address and settings are fixed before the init is spawned. */
export interface PreparedNetwork extends ContainerNetwork {
  settings: BridgeSettings;
  bindFiles: BindFile[];
}

/** What the runtime asks of a container network (LinuxRuntimeOptions.network: tests may pass a fake). */
export interface NetworkAttacher {
  /** Before the init is spawned: the address, and the files the init bind-mounts. Throws when it cannot. */
  prepare(id: string, hostname: string, dir: string, dns?: ContainerDnsConfig): PreparedNetwork;
  /** Between spawn and "go": wires the namespace of the init `pid`. */
  attach(pid: number, prepared: PreparedNetwork): Promise<void>;
  /** Frees what prepare and attach took; idempotent. */
  release(id: string): Promise<void>;
  /** At agent start: frees what containers other than `kept` still hold (a start or delete cut short); answers their ids. */
  sweep?(kept: ReadonlySet<string>): Promise<string[]>;
}

export class BridgeAttacher implements NetworkAttacher {
  private readonly addresses: AddressAllocator;
  /** The agent's own rtnetlink socket, made at the first attach and kept. */
  private hostNetlink?: RouteNetlink;

  constructor(
    private readonly stateDir: string,
    private readonly settings: () => BridgeSettings | undefined,
  ) {
    this.addresses = new AddressAllocator(path.join(stateDir, 'network', 'addresses'));
  }

  /** Reserves an address and writes the container's /etc/hosts and /etc/resolv.conf into `dir`. */
  prepare(id: string, hostname: string, dir: string, dns?: ContainerDnsConfig): PreparedNetwork {
    const settings = this.settings();
    if (!settings) {
      throw new NetworkError('bridge networking is not set up on this node yet (it gets its pod CIDR when it registers with the control plane)');
    }
    const ip = this.addresses.allocate(id, settings.subnet, settings.gateway);
    return { ip, hostVeth: hostVethNameFor(this.stateDir, id), settings, bindFiles: writeEtcFiles(dir, hostname, ip, dns) };
  }

  /** Wires the container whose init is `pid` (waiting for "go" in its fresh network namespace). */
  async attach(pid: number, prepared: PreparedNetwork): Promise<void> {
    const { hostVeth, ip, settings } = prepared;
    const prefix = parseCidr(settings.subnet).prefix;
    const host = (this.hostNetlink ??= RouteNetlink.here(linuxSys()));
    const bridge = host.linkIndex(settings.bridge);
    // The peer is born inside the container's namespace (IFLA_NET_NS_PID), already named eth0.
    host.request(`link add ${hostVeth} type veth peer name eth0 netns ${pid}, master ${settings.bridge}, up`,
      (seq) => vethRequest(seq, hostVeth, bridge, 'eth0', pid));
    const inside = RouteNetlink.inNetnsOf(linuxSys(), pid);
    try {
      const where = `in the network namespace of process ${pid}`;
      inside.request(`link set lo up ${where}`, (seq) => linkUpRequest(seq, LOOPBACK_INDEX));
      const eth0 = inside.linkIndex('eth0');
      inside.request(`addr add ${ip}/${prefix} dev eth0 ${where}`, (seq) => addressRequest(seq, eth0, ip, prefix));
      inside.request(`link set eth0 up ${where}`, (seq) => linkUpRequest(seq, eth0));
      inside.request(`route add default via ${settings.gateway} dev eth0 ${where}`, (seq) => defaultRouteRequest(seq, eth0, settings.gateway));
    } finally {
      inside.close();
    }
  }

  /**
   * Every address reservation is made before its veth, so the holders of addresses name every
   * container that may have left something behind: what a holder not kept holds is freed.
   */
  async sweep(kept: ReadonlySet<string>): Promise<string[]> {
    const leftovers = [...this.addresses.holders()].filter((id) => !kept.has(id));
    for (const id of leftovers) await this.release(id);
    return leftovers;
  }

  addressOf(id: string): string | undefined {
    return this.addresses.addressOf(id);
  }

  /**
   * Frees the container's address. The veth goes with the container's network namespace, but the
   * kernel tears namespaces down asynchronously: deleting the host end now leaves nothing behind.
   */
  async release(id: string): Promise<void> {
    const hostVeth = hostVethNameFor(this.stateDir, id);
    if (linkExists(hostVeth)) {
      try {
        (this.hostNetlink ??= RouteNetlink.here(linuxSys())).request(`link del ${hostVeth}`, (seq) => deleteLinkRequest(seq, hostVeth));
      } catch {
        /* gone meanwhile */
      }
    }
    this.addresses.release(id);
  }
}

const HOSTS_HEADER = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** The files the init bind-mounts over the image's (a file of the container's own, writable, removed with it). */
function writeEtcFiles(dir: string, hostname: string, ip: string, dns?: ContainerDnsConfig): BindFile[] {
  fs.mkdirSync(dir, { recursive: true });
  const hosts = path.join(dir, 'hosts');
  fs.writeFileSync(hosts, `${HOSTS_HEADER}${ip}\t${hostname}\n`);
  const files: BindFile[] = [{ source: hosts, target: '/etc/hosts' }];
  const resolv = dns ? resolvConfText(dns) : resolvConfForContainers();
  if (resolv) {
    fs.writeFileSync(path.join(dir, 'resolv.conf'), resolv);
    files.push({ source: path.join(dir, 'resolv.conf'), target: '/etc/resolv.conf' });
  }
  return files;
}

/** A resolv.conf of the given name servers, search list and options. */
export function resolvConfText(dns: ContainerDnsConfig): string {
  return [
    ...dns.nameservers.map((server) => `nameserver ${server}`),
    ...(dns.search.length > 0 ? [`search ${dns.search.join(' ')}`] : []),
    ...(dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : []),
  ].join('\n') + '\n';
}

/**
 * The host's resolver configuration, without loopback name servers (127.0.0.53 and the like answer
 * on the host's lo, which a container cannot reach); undefined when no name server is left, and
 * the image keeps its own file.
 */
export function resolvConfForContainers(hostFile = '/etc/resolv.conf'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(hostFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((line) => !/^\s*nameserver\s+(127\.|::1\b)/.test(line));
  if (!lines.some((line) => /^\s*nameserver\s+\S/.test(line))) return undefined;
  return lines.join('\n');
}
