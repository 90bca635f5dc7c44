/**
 * Where nodes come from: a `NodeProvider` creates a node from a pool's template, deletes one, and
 * lists what it made (Kubernetes' Cluster Autoscaler calls this a node group, Karpenter a node pool).
 * The node autoscaler's decisions (node.autoscaler.plan.ts) only read pools and nodes; a loop asks
 * the provider to act on them. Providers are adapters (simulated hosts, a cloud): only the shape
 * lives here, with a validation of pools that names the field at fault.
 */

/** The shape of every node a pool makes: what its agent will report as allocatable, and its labels. */
export interface NodeTemplate {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
  labels: Record<string, string>;
}

export interface NodePool {
  name: string;
  template: NodeTemplate;
  /** The node autoscaler never removes a node that would leave fewer than this. */
  minNodes: number;
  /** Nor adds one above this. */
  maxNodes: number;
}

/** A node the provider made: its name is the Node object's name once its agent has registered. */
export interface ProvidedNode {
  name: string;
  pool: string;
  createdAtMs: number;
}

export interface NodeProvider {
  /** Starts one node of the pool; it shows as a Node once its agent has registered (its boot time later). */
  create(pool: NodePool): Promise<ProvidedNode>;
  /** Stops and forgets a node the provider made. */
  delete(name: string): Promise<void>;
  /** The nodes it made (of one pool, when named), booting ones included. */
  list(pool?: string): Promise<ProvidedNode[]>;
}

/** A provider refused a request (unknown node, quota): the message says what to change. */
export class NodeProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeProviderError';
  }
}

/** Why a pool cannot be used, per field ("pool web: maxNodes: must be at least minNodes (2 < 3)"), or [] when it can. */
export function nodePoolErrors(pool: NodePool): string[] {
  const errors: string[] = [];
  const field = (name: string, message: string) => errors.push(`pool ${pool.name || '(unnamed)'}: ${name}: ${message}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(pool.name)) field('name', 'lower-case letters, digits and "-", starting and ending with a letter or digit');
  if (!Number.isInteger(pool.template.cpu) || pool.template.cpu <= 0) field('template.cpu', 'a positive number of millicores');
  if (!Number.isInteger(pool.template.memory) || pool.template.memory <= 0) field('template.memory', 'a positive number of bytes');
  if (!Number.isInteger(pool.minNodes) || pool.minNodes < 0) field('minNodes', 'an integer of 0 or more');
  if (!Number.isInteger(pool.maxNodes) || pool.maxNodes < 1) field('maxNodes', 'an integer of 1 or more');
  else if (Number.isInteger(pool.minNodes) && pool.maxNodes < pool.minNodes) field('maxNodes', `must be at least minNodes (${pool.maxNodes} < ${pool.minNodes})`);
  return errors;
}
