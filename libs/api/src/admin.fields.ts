/**
 * Fields only an admin may set, and fields the control plane and agents do not run yet. Both are
 * pure functions over a valid object, so authorisation and the apply path read the same list.
 */
import type { ServiceSpec } from './types';

/** One use of a guarded field: where it is in the object, and why it is guarded. */
export interface GuardedField {
  path: string;
  /** hostPath | hostNetwork | privileged | seccompUnconfined (admin) or the feature that is not wired yet. */
  feature: string;
  message: string;
}

interface WithSpec {
  kind: string;
  spec?: unknown;
}

/**
 * The admin-only fields an object uses, with their paths: each gives a container the node itself
 * (its files, its network, every capability and device), which no namespace-scoped role may grant.
 */
export function adminOnlyFields(object: WithSpec): GuardedField[] {
  if (object.kind !== 'Service' || !object.spec) return [];
  const spec = object.spec as ServiceSpec;
  const out: GuardedField[] = [];
  (spec.volumes ?? []).forEach((volume, i) => {
    if (volume.hostPath) {
      out.push({ path: `spec.volumes[${i}].hostPath`, feature: 'hostPath', message: `mounts the node's ${volume.hostPath.path}: admin only` });
    }
  });
  if (spec.network === 'host') out.push({ path: 'spec.network', feature: 'hostNetwork', message: "host: the node's network namespace: admin only" });
  if (spec.privileged) out.push({ path: 'spec.privileged', feature: 'privileged', message: 'every capability and device of the node: admin only' });
  if (spec.securityContext?.seccompProfile?.type === 'Unconfined') {
    out.push({ path: 'spec.securityContext.seccompProfile.type', feature: 'seccompUnconfined', message: "Unconfined: the node's kernel without a seccomp filter: admin only" });
  }
  return out;
}

const NOT_RUN = 'the node agents do not run it yet';

/**
 * The fields of a valid Service that the control plane and agents cannot honour yet: refusing them
 * names the field instead of running replicas without it. Every volume source runs (issue 19).
 */
export function unwiredFields(spec: ServiceSpec): GuardedField[] {
  return spec.privileged ? [{ path: 'spec.privileged', feature: 'privileged', message: `valid, but ${NOT_RUN}` }] : [];
}
