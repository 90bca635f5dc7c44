/**
 * Gives each node its slice of the container network (a block of --node-cidr-mask-size, /22 by
 * default, of --pod-cidr) when it registers. The slice is kept on the Node (spec.podCIDR) and in a
 * claim key per slice, so a node gets the same one back after re-registering or a control-plane
 * restart, and no address ever goes to two nodes, even when the slice size changed in between.
 */
import { Cidr, CidrError, cidrContains, cidrSize, cidrsOverlap, formatCidr, parseCidr, subnetAt, subnetCount } from '@tide/api';

export class PodCidrExhaustedError extends Error {
  constructor(clusterCidr: string, sliceMaskSize: number, slices: number) {
    super(`no free /${sliceMaskSize} left in the container network ${clusterCidr} (all ${slices} are held by nodes): `
      + 'start the control plane with a larger --pod-cidr or a smaller slice (a larger --node-cidr-mask-size)');
    this.name = 'PodCidrExhaustedError';
  }
}

/** The container network given with --pod-cidr, checked: it must hold at least one node slice. */
export function parseClusterCidr(text: string, sliceMaskSize: number): string {
  const cidr = parseCidr(text);
  if (cidr.prefix > sliceMaskSize) {
    throw new CidrError(`"${text}" is smaller than one node's slice (a /${sliceMaskSize}, --node-cidr-mask-size): give a larger block or a larger mask size`);
  }
  return formatCidr(cidr);
}

/** Which slices (by index) a claim of another size, or of another node, covers. */
function coveredSlices(cluster: Cidr, sliceMaskSize: number, claim: Cidr): [number, number] | undefined {
  const slice = cidrSize({ network: 0, prefix: sliceMaskSize });
  const first = Math.max(claim.network, cluster.network);
  const last = Math.min(claim.network + cidrSize(claim) - 1, cluster.network + cidrSize(cluster) - 1);
  if (first > last) return undefined;
  return [Math.floor((first - cluster.network) / slice), Math.floor((last - cluster.network) / slice)];
}

/**
 * The slices to try for a node, best first: the one its Node object records (stable across
 * re-registration), then one a claim says it holds (its Node object was lost), then the free ones
 * in order. A slice overlapping one claimed by another node (of this size or of an earlier
 * --node-cidr-mask-size) never appears; the node's own claims of another size only linger.
 */
export function podCidrCandidates(clusterCidr: string, sliceMaskSize: number, node: string, recorded: string | undefined, claims: ReadonlyMap<string, string>): string[] {
  const cluster = parseCidr(clusterCidr);
  const parsed = (cidr: string) => {
    try {
      return parseCidr(cidr);
    } catch {
      return undefined;
    }
  };
  const othersHold = (slice: Cidr) => [...claims].some(([cidr, owner]) => owner !== node && cidrsOverlap(parsed(cidr) ?? { network: 0, prefix: 32 }, slice));
  const usable = (cidr: string) => {
    const slice = parsed(cidr);
    return slice !== undefined && slice.prefix === sliceMaskSize && cidrContains(cluster, slice.network) && !othersHold(slice);
  };
  // A set beside the list: a /10 has 4,096 slices of /22, and a membership scan per slice was quadratic.
  const listed = new Set<string>();
  const candidates: string[] = [];
  const add = (cidr: string) => {
    if (listed.has(cidr)) return;
    listed.add(cidr);
    candidates.push(cidr);
  };
  if (recorded && usable(recorded)) add(recorded);
  for (const [cidr, owner] of claims) if (owner === node && usable(cidr)) add(cidr);
  const count = subnetCount(cluster, sliceMaskSize);
  const blocked = new Uint8Array(count);
  for (const [cidr, owner] of claims) {
    const claim = parsed(cidr);
    const range = claim && owner !== node ? coveredSlices(cluster, sliceMaskSize, claim) : undefined;
    if (range) blocked.fill(1, range[0], range[1] + 1);
  }
  for (let i = 0; i < count; i++) if (!blocked[i]) add(formatCidr(subnetAt(cluster, sliceMaskSize, i)));
  return candidates;
}

/** The compare-and-swap store of slice claims (PodCidrClaims in @tide/store). */
export interface SliceClaims {
  list(): Promise<Map<string, string>>;
  claim(cidr: string, node: string): Promise<string>;
}

export class PodCidrAllocator {
  constructor(
    readonly clusterCidr: string,
    private readonly claims: SliceClaims,
    /** The prefix length of each node's slice (`--node-cidr-mask-size`). */
    readonly sliceMaskSize: number,
  ) {}

  /** Allocations of this control plane, one after the other (see forNode). */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * The node's slice: the recorded one if it is still the node's, else the first one it can claim.
   * One at a time: nodes registering together would all try the same first free slice, and each
   * loss costs a claim transaction (500 nodes at once took 125,000). Another control plane's
   * allocations still race ours, and the claim's compare-and-swap settles them.
   */
  forNode(node: string, recorded: string | undefined): Promise<string> {
    const next = this.queue.then(() => this.allocate(node, recorded));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async allocate(node: string, recorded: string | undefined): Promise<string> {
    const claims = await this.claims.list();
    for (const cidr of podCidrCandidates(this.clusterCidr, this.sliceMaskSize, node, recorded, claims)) {
      // Lost to another control plane meanwhile: the next one.
      if ((await this.claims.claim(cidr, node)) === node) return cidr;
    }
    throw new PodCidrExhaustedError(this.clusterCidr, this.sliceMaskSize, subnetCount(parseCidr(this.clusterCidr), this.sliceMaskSize));
  }
}
