/**
 * Fields that only the admin role may set, because they give a container the host: its network,
 * its devices and capabilities, its files, or the kernel without a seccomp filter. Names follow
 * Kubernetes' (securityContext, volumes[].hostPath); a field libs/api does not accept yet is still
 * listed so that adding it cannot silently open it to edit.
 */
export function adminOnlyFields(document: unknown): string[] {
  const spec = record(record(document)?.spec);
  if (!spec) return [];
  const fields: string[] = [];
  if (spec.network === 'host') fields.push('spec.network: host');
  for (const key of ['hostPID', 'hostIPC'] as const) if (spec[key] === true) fields.push(`spec.${key}`);
  if (spec.privileged === true) fields.push('spec.privileged');
  const security = record(spec.securityContext);
  if (security?.privileged === true) fields.push('spec.securityContext.privileged');
  const added = record(security?.capabilities)?.add;
  if (Array.isArray(added) && added.length > 0) fields.push('spec.securityContext.capabilities.add');
  if (record(security?.seccompProfile)?.type === 'Unconfined') fields.push('spec.securityContext.seccompProfile.type: Unconfined');
  if (Array.isArray(spec.volumes)) {
    spec.volumes.forEach((volume, index) => {
      if (record(volume)?.hostPath !== undefined) fields.push(`spec.volumes[${index}].hostPath`);
    });
  }
  return fields;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
