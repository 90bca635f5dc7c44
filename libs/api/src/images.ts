/**
 * Images as the cluster API shows them (GET /api/v1/images and friends): the node agents' image
 * lists merged into one row per reference and image id, with the nodes that hold it.
 */

/** One image on one node (the agent's GET /v1/images rows; libs/runtime's ImageInfo). */
export interface NodeImage {
  ref: string;
  id: string;
  layers: string[];
  sizeBytes: number;
  created?: string;
}

export interface ClusterImage {
  ref: string;
  id: string;
  sizeBytes: number;
  created?: string;
  /** Nodes holding this ref with this id, sorted. */
  nodes: string[];
}

/** What one node answered to a fanned-out request; `error` says why it did not do it. */
export interface NodeResult<T = undefined> {
  node: string;
  ok: boolean;
  error?: string;
  /** The agent's HTTP status on failure; 0 when it could not be reached. */
  status?: number;
  value?: T;
}

/** One line of a build's response stream (application/x-ndjson): a log line, then one result. */
export type BuildStreamLine =
  | { log: string }
  | { result: BuildResult };

export interface BuildResult {
  ok: boolean;
  /** On failure: which step failed and why (or why the image did not reach a node). */
  error?: string;
  /** The node that built the image. */
  node?: string;
  image?: NodeImage;
  /** The other nodes the image was copied to (control plane only). */
  distributed?: NodeResult[];
}

/** "busybox" means "busybox:latest"; a registry port ("host:5000/app") is not a tag. */
export function parseImageReference(ref: string): { name: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: 'latest' };
}

export function normalizeImageReference(ref: string): string {
  const { name, tag } = parseImageReference(ref);
  return `${name}:${tag}`;
}

/** Docker's path component: lowercase alphanumerics joined by ".", "_", "__" or runs of "-". */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
/** Components joined by "/", the first optionally a registry host with a port ("localhost:5000"). */
const NAME = new RegExp(`^(?:[A-Za-z0-9.-]+:\\d+/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Why a reference is not "NAME[:TAG]" (Docker's grammar, without digests), or undefined when it is. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (!ref) return 'an image reference is required (NAME[:TAG])';
  const { name, tag } = parseImageReference(ref);
  if (!NAME.test(name)) return `"${ref}": the name must be lowercase letters, digits and separators (. _ - /)`;
  if (!TAG.test(tag)) return `"${ref}": the tag must be letters, digits, "_", "." or "-" (at most 128)`;
  return undefined;
}

/** Merges the per-node lists into one row per ref and id (a ref with different ids on two nodes is two rows). */
export function mergeNodeImages(perNode: { node: string; images: NodeImage[] }[]): ClusterImage[] {
  const rows = new Map<string, ClusterImage>();
  for (const { node, images } of perNode) {
    for (const image of images) {
      const key = `${image.ref}\0${image.id}`;
      const row = rows.get(key) ?? { ref: image.ref, id: image.id, sizeBytes: image.sizeBytes, ...(image.created ? { created: image.created } : {}), nodes: [] };
      if (!row.nodes.includes(node)) row.nodes.push(node);
      rows.set(key, row);
    }
  }
  const merged = [...rows.values()];
  for (const row of merged) row.nodes.sort();
  return merged.sort((a, b) => a.ref.localeCompare(b.ref) || a.id.localeCompare(b.id));
}
