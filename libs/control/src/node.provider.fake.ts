/**
 * An in-memory NodeProvider for tests and simulations: nodes are records named `<pool>-<n>`, made
 * and forgotten at once; the clock is injected. It refuses what a real provider refuses (a node it
 * does not know, a pool past its maxNodes), so code tried against it meets the same errors;
 * `nodeProviderContract` (testing.ts) holds it and every real provider to the same behaviour.
 */
import { NodePool, NodeProvider, NodeProviderError, ProvidedNode, nodePoolErrors } from './node.provider';

export class InMemoryNodeProvider implements NodeProvider {
  private readonly nodes = new Map<string, ProvidedNode>();
  private readonly serial = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async create(pool: NodePool): Promise<ProvidedNode> {
    const errors = nodePoolErrors(pool);
    if (errors.length > 0) throw new NodeProviderError(errors.join('; '));
    const size = [...this.nodes.values()].filter((n) => n.pool === pool.name).length;
    if (size >= pool.maxNodes) throw new NodeProviderError(`pool ${pool.name} is at its maxNodes (${pool.maxNodes})`);
    const n = (this.serial.get(pool.name) ?? 0) + 1;
    this.serial.set(pool.name, n);
    const node: ProvidedNode = { name: `${pool.name}-${n}`, pool: pool.name, createdAtMs: this.now() };
    this.nodes.set(node.name, node);
    return { ...node };
  }

  async delete(name: string): Promise<void> {
    if (!this.nodes.delete(name)) throw new NodeProviderError(`no node ${name} made by this provider`);
  }

  async list(pool?: string): Promise<ProvidedNode[]> {
    return [...this.nodes.values()].filter((n) => pool === undefined || n.pool === pool).map((n) => ({ ...n }));
  }
}
