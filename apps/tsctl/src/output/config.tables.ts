/** Tables of ConfigMaps and Secrets: names, key counts and ages, never a value. */
import type { ConfigMap, Secret } from '@tide/api';
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
