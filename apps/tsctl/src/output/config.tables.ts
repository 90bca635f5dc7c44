/** Tables of ConfigMaps and Secrets (names, key counts and ages, never a value), and of named local volumes. */
import { ConfigMap, LocalVolumeView, Secret, formatMemory } from '@tide/api';
import { formatAge, formatTable } from './table';

function keys(...maps: (Record<string, string> | undefined)[]): string {
  return String(maps.reduce((count, map) => count + Object.keys(map ?? {}).length, 0));
}

export function configMapsTable(items: ConfigMap[], withNamespace: boolean): string {
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'DATA', 'AGE'];
  return formatTable(header, items.map((c) => [
    ...(withNamespace ? [c.metadata.namespace] : []), c.metadata.name, keys(c.data, c.binaryData), formatAge(c.metadata.creationTimestamp),
  ]));
}

export function secretsTable(items: Secret[], withNamespace: boolean): string {
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'TYPE', 'DATA', 'AGE'];
  return formatTable(header, items.map((s) => [
    ...(withNamespace ? [s.metadata.namespace] : []), s.metadata.name, s.type ?? 'Opaque', keys(s.data), formatAge(s.metadata.creationTimestamp),
  ]));
}

/** Named local volumes: where each is, its size as its node last reported it, and the replicas using it. */
export function volumesTable(items: LocalVolumeView[], withNamespace: boolean): string {
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'NODE', 'SIZE', 'USERS'];
  return formatTable(header, items.map((v) => [
    ...(withNamespace ? [v.namespace] : []), v.name, v.node, v.sizeBytes === undefined ? '<unknown>' : formatMemory(v.sizeBytes), v.users.join(',') || '<none>',
  ]));
}
