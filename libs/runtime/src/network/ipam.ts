/**
 * Addresses of the node's slice handed to bridge containers. One file per address in use, named
 * after it and holding the container id (as CNI's host-local plugin does): created with O_EXCL, so an
 * address is never given twice, and kept on disk, so a restarted agent's adopted containers keep
 * theirs. remove() releases them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cidr, cidrContains, cidrSize, formatCidr, formatIPv4, parseCidr, parseIPv4 } from '@tide/api';
import { NetworkError } from './network.command';

/**
 * The next free host address of `subnet` after `last` (wrapping around), skipping the network
 * address, the gateway and the broadcast address. Starting after the last one handed out avoids
 * giving a just-freed address again at once, while peers may still have it in their ARP caches.
 */
export function nextFreeAddress(subnet: Cidr, gateway: number, taken: ReadonlySet<number>, last?: number): number | undefined {
  const hosts = cidrSize(subnet) - 2; // without the network and broadcast addresses
  if (hosts <= 0) return undefined;
  const start = last !== undefined && cidrContains(subnet, last) ? last - subnet.network : 0;
  for (let step = 1; step <= hosts; step++) {
    const candidate = subnet.network + 1 + ((start + step - 1) % hosts);
    if (candidate !== gateway && !taken.has(candidate)) return candidate;
  }
  return undefined;
}

const LAST_FILE = 'last-reserved';

export class AddressAllocator {
  /** address → container id; read from the directory once, then kept in step with it. */
  private owners?: Map<number, string>;

  constructor(private readonly dir: string) {}

  /** The address given to a container, if any. */
  addressOf(id: string): string | undefined {
    for (const [address, owner] of this.load()) if (owner === id) return formatIPv4(address);
    return undefined;
  }

  /** An address of `subnet` for the container (the one it holds already, if it has one there). */
  allocate(id: string, subnetText: string, gatewayText: string): string {
    const subnet = parseCidr(subnetText);
    const owners = this.load();
    const held = [...owners].find(([address, owner]) => owner === id && cidrContains(subnet, address));
    if (held) return formatIPv4(held[0]);
    const taken = new Set([...owners.keys()].filter((address) => cidrContains(subnet, address)));
    let last = this.readLast();
    for (;;) {
      const address = nextFreeAddress(subnet, parseIPv4(gatewayText), taken, last);
      if (address === undefined) throw new NetworkError(`no free address left in ${formatCidr(subnet)} (${taken.size} in use)`);
      if (this.claim(address, id)) {
        owners.set(address, id);
        fs.writeFileSync(path.join(this.dir, LAST_FILE), formatIPv4(address), { mode: 0o600 });
        return formatIPv4(address);
      }
      taken.add(address); // another process took it since we read the directory
      last = address;
    }
  }

  /** The ids of the containers holding an address. */
  holders(): Set<string> {
    return new Set(this.load().values());
  }

  /** Frees every address the container holds. Idempotent. */
  release(id: string): void {
    const owners = this.load();
    for (const [address, owner] of owners) {
      if (owner !== id) continue;
      fs.rmSync(path.join(this.dir, formatIPv4(address)), { force: true });
      owners.delete(address);
    }
  }

  private claim(address: number, id: string): boolean {
    try {
      fs.writeFileSync(path.join(this.dir, formatIPv4(address)), id, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  private readLast(): number | undefined {
    try {
      return parseIPv4(fs.readFileSync(path.join(this.dir, LAST_FILE), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  private load(): Map<number, string> {
    if (this.owners) return this.owners;
    fs.mkdirSync(this.dir, { recursive: true });
    const owners = new Map<number, string>();
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue;
      owners.set(parseIPv4(name), fs.readFileSync(path.join(this.dir, name), 'utf8').trim());
    }
    this.owners = owners;
    return owners;
  }
}
