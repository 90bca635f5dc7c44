/**
 * Gives each node its slice of the container network (a /24 of --pod-cidr) when it registers. The
 * slice is kept on the Node (spec.podCIDR) and in a claim key per slice, so a node gets the same one
 * back after re-registering or a control-plane restart, and no slice ever goes to two nodes.
 */
import { CidrError, NODE_SLICE_PREFIX, formatCidr, parseCidr, subnetAt, subnetCount, cidrContains } from '@tide/api';

export class PodCidrExhaustedError extends Error {
  constructor(clusterCidr: string, slices: number, prefix: number) {
    super(`no free /${prefix} left in the container network ${clusterCidr} (all ${slices} are held by nodes): start the control plane with a larger --pod-cidr`);
    this.name = 'PodCidrExhaustedError';
  }
}

/** The container network given with --pod-cidr, checked: it must hold at least one node slice. */
export function parseClusterCidr(text: string, slicePrefix = NODE_SLICE_PREFIX): string {
  const cidr = parseCidr(text);
  if (cidr.prefix > slicePrefix) throw new CidrError(`"${text}" is smaller than one node's slice (a /${slicePrefix})`);
  return formatCidr(cidr);
}

/**
 * The slices to try for a node, best first: the one its Node object records (stable across
 * re-registration), then one a claim says it holds (its Node object was lost), then the free ones
 * in order. Slices claimed by other nodes never appear.
 */
export function podCidrCandidates(
  clusterCidr: string, node: string, recorded: string | undefined, claims: ReadonlyMap<string, string>, slicePrefix = NODE_SLICE_PREFIX,
): string[] {
  const cluster = parseCidr(clusterCidr);
  const candidates: string[] = [];
  const insideCluster = (cidr: string) => {
    try {
      const slice = parseCidr(cidr);
      return slice.prefix === slicePrefix && cidrContains(cluster, slice.network);
    } catch {
      return false;
    }
  };
  // A set beside the list: a /10 has 16,384 slices, and a membership scan per slice was quadratic.
  const listed = new Set<string>();
  const add = (cidr: string) => {
    if (listed.has(cidr)) return;
    listed.add(cidr);
    candidates.push(cidr);
  };
  if (recorded && insideCluster(recorded) && (claims.get(recorded) ?? node) === node) add(recorded);
  for (const [cidr, owner] of claims) if (owner === node && insideCluster(cidr)) add(cidr);
  for (let i = 0; i < subnetCount(cluster, slicePrefix); i++) {
    const cidr = formatCidr(subnetAt(cluster, slicePrefix, i));
    if (!claims.has(cidr)) add(cidr);
  }
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
    /** The prefix length of a node's slice (--node-slice-prefix). */
    private readonly slicePrefix = NODE_SLICE_PREFIX,
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
    for (const cidr of podCidrCandidates(this.clusterCidr, node, recorded, claims, this.slicePrefix)) {
      // Lost to another control plane meanwhile: the next one.
      if ((await this.claims.claim(cidr, node)) === node) return cidr;
    }
    throw new PodCidrExhaustedError(this.clusterCidr, subnetCount(parseCidr(this.clusterCidr), this.slicePrefix), this.slicePrefix);
  }
}
