/**
 * How Tide names images between the cluster's registry and the nodes' stores. A reference without a
 * registry, or with the cluster registry's address, is the cluster registry's, and its image is kept
 * on the nodes under its short name (`web:1`, what a Service's `image` says); another registry's keeps
 * its host (`reg.example:5000/web:1`). A pull by digest without a tag is kept under the tag
 * `sha256-<hex>` (a store name has no digest form).
 */
import { RegistryError } from './errors';
import { parseImageReference } from './reference';

export interface PullPlan {
  /** `host:port` to pull from. */
  registry: string;
  /** Whether that is the cluster's own registry (its tokens are the control plane's). */
  cluster: boolean;
  repository: string;
  /** What is asked of the registry: the digest if given, else the tag. */
  reference: string;
  /** The name:tag the nodes keep it under. */
  storeRef: string;
}

export function pullPlan(text: string, clusterRegistry: string | undefined): PullPlan {
  const ref = parseImageReference(text);
  const registry = ref.registry ?? clusterRegistry;
  if (!registry) throw new RegistryError('Invalid', `"${text}" names no registry and this cluster has none: give host:port/repository[:tag]`);
  const cluster = registry === clusterRegistry;
  const tag = ref.tag ?? (ref.digest ? ref.digest.replace(':', '-') : 'latest');
  return {
    registry, cluster, repository: ref.repository, reference: ref.digest ?? tag,
    storeRef: `${cluster ? '' : `${registry}/`}${ref.repository}:${tag}`,
  };
}

export interface PushPlan {
  repository: string;
  tag: string;
  /** The image's name in the nodes' stores. */
  storeRef: string;
}

/** `NAME[:TAG]` of an image on the nodes, pushed to the cluster's registry under the same name. */
export function pushPlan(text: string, clusterRegistry: string): PushPlan {
  const ref = parseImageReference(text);
  if (ref.digest) throw new RegistryError('Invalid', `"${text}": push takes the NAME[:TAG] of an image on the nodes, not a digest`);
  if (ref.registry && ref.registry !== clusterRegistry) {
    throw new RegistryError('Invalid', `"${text}" names the registry ${ref.registry}; images are pushed to the cluster's registry ${clusterRegistry}: give NAME[:TAG]`);
  }
  const tag = ref.tag ?? 'latest';
  return { repository: ref.repository, tag, storeRef: `${ref.repository}:${tag}` };
}
