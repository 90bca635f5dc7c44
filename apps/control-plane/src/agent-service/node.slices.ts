/**
 * Every node's slice of the container network (for the agents' routes to each other), sorted by node
 * name. Computed once per change of the node set, not once per stream; the version tells a stream
 * whether the list changed since it last sent it.
 */
import { Node, NodeSlice } from '@tide/api';
import { CacheChange, ClusterCache } from '@tide/store';

export class NodeSlices {
  private slices?: NodeSlice[];
  private version = 0;

  constructor(private readonly cache: Pick<ClusterCache, 'list'>) {}

  /** Forgets the list when the change moves a slice (a node joining, leaving, or readdressed, or its agent port moved); says whether it did. */
  invalidatedBy(change: CacheChange): boolean {
    const moved = change.kind === 'resync' || (change.kind === 'Node' && sliceOf(change.previous) !== sliceOf(change.current));
    if (moved) this.slices = undefined;
    return moved;
  }

  current(): { version: number; slices: NodeSlice[] } {
    if (!this.slices) {
      this.version++;
      this.slices = this.cache.list('Node').filter((n) => n.spec.podCIDR)
        .map((n) => ({ nodeName: n.metadata.name, address: n.spec.address, podCIDR: n.spec.podCIDR!, ...(n.spec.agentPort ? { agentPort: n.spec.agentPort } : {}) }))
        .sort((a, b) => a.nodeName.localeCompare(b.nodeName));
    }
    return { version: this.version, slices: this.slices };
  }
}

function sliceOf(node: Node | undefined): string {
  return node ? `${node.spec.address}|${node.spec.podCIDR ?? ''}|${node.spec.agentPort ?? ''}` : '';
}
