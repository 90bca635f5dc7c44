/**
 * Which service holds which virtual IP: one key per address, `/tide/v1/serviceips/<ip>` =
 * "namespace/name", written only if it does not exist yet (etcd's compare-and-swap on the key's
 * create revision) and deleted only while it still names its holder. Two allocators at once can
 * therefore never give one address to two services.
 */
import { Etcd3 } from 'etcd3';
import { ROOT } from './keys';
import { rangeAll } from './paged.range';

export const SERVICE_IP_PREFIX = `${ROOT}serviceips/`;

export function serviceIpKey(ip: string): string {
  return `${SERVICE_IP_PREFIX}${ip}`;
}

export class ServiceIpClaims {
  constructor(private readonly client: Etcd3) {}

  /** Every claimed address → its holder (read in pages at one revision). */
  async list(): Promise<Map<string, string>> {
    const response = await rangeAll(this.client, SERVICE_IP_PREFIX);
    return new Map(response.kvs.map((kv) => [kv.key.toString().slice(SERVICE_IP_PREFIX.length), kv.value.toString()]));
  }

  /** Claims the address for `owner` unless someone holds it; answers who holds it afterwards. */
  async claim(ip: string, owner: string): Promise<string> {
    const key = serviceIpKey(ip);
    const result = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(owner)).else(this.client.get(key)).commit();
    if (result.succeeded) return owner;
    return result.responses[0].response_range.kvs[0]?.value.toString() ?? '';
  }

  /** Frees the address if `owner` still holds it; answers whether it did. */
  async release(ip: string, owner: string): Promise<boolean> {
    const key = serviceIpKey(ip);
    const result = await this.client.if(key, 'Value', '==', owner).then(this.client.delete().key(key)).commit();
    return result.succeeded;
  }
}
