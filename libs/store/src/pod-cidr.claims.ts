/**
 * Which node holds which slice of the container network: one key per slice, written only if it
 * does not exist yet (etcd's compare-and-swap on the key's create revision). Two control planes
 * allocating at once can therefore never give one slice to two nodes: one of the two writes fails
 * and that allocator moves on to the next slice.
 */
import { Etcd3 } from 'etcd3';
import { ROOT } from './keys';
import { rangeAll } from './paged.range';

export const POD_CIDR_PREFIX = `${ROOT}podcidrs/`;

/** "100.64.3.0/24" → "/tide/v1/podcidrs/100.64.3.0_24" (a "/" would read as a deeper key). */
export function podCidrKey(cidr: string): string {
  return `${POD_CIDR_PREFIX}${cidr.replace('/', '_')}`;
}

export class PodCidrClaims {
  constructor(private readonly client: Etcd3) {}

  /** Every claimed slice → the node holding it (read in pages at one revision). */
  async list(): Promise<Map<string, string>> {
    const response = await rangeAll(this.client, POD_CIDR_PREFIX);
    return new Map(response.kvs.map((kv) => [kv.key.toString().slice(POD_CIDR_PREFIX.length).replace('_', '/'), kv.value.toString()]));
  }

  /** Claims the slice for the node unless someone holds it; answers who holds it afterwards. */
  async claim(cidr: string, node: string): Promise<string> {
    const key = podCidrKey(cidr);
    const result = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(node)).else(this.client.get(key)).commit();
    if (result.succeeded) return node;
    return result.responses[0].response_range.kvs[0]?.value.toString() ?? '';
  }
}
