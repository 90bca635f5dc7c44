/**
 * The ConfigMaps and Secrets a converted Service reads, checked against the file: one that is not
 * in it must exist in the cluster when the replicas start, and a key it lacks fails them.
 */
import { Json, isObject } from './report';

export interface Reference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  /** The key read (env valueFrom, volume items), none for envFrom and whole volumes. */
  key?: string;
  optional: boolean;
  /** Where in the Tide Service the reference is. */
  path: string;
}

/** Every reference a Tide Service spec makes, with its Tide path. */
export function referencesOf(spec: Json): Reference[] {
  const out: Reference[] = [];
  const env = isObject(spec.env) ? spec.env : {};
  for (const [name, value] of Object.entries(env)) {
    const from = isObject(value) && isObject(value.valueFrom) ? value.valueFrom : undefined;
    for (const [field, kind] of [['configMapKeyRef', 'ConfigMap'], ['secretKeyRef', 'Secret']] as const) {
      const ref = from && isObject(from[field]) ? from[field] : undefined;
      if (ref) out.push({ kind, name: String(ref.name), key: String(ref.key), optional: ref.optional === true, path: `spec.env.${name}.valueFrom.${field}` });
    }
  }
  (Array.isArray(spec.envFrom) ? spec.envFrom : []).forEach((source, i) => {
    for (const [field, kind] of [['configMapRef', 'ConfigMap'], ['secretRef', 'Secret']] as const) {
      const ref = isObject(source) && isObject(source[field]) ? source[field] : undefined;
      if (ref) out.push({ kind, name: String(ref.name), optional: ref.optional === true, path: `spec.envFrom[${i}].${field}` });
    }
  });
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((volume, i) => {
    for (const [field, nameField, kind] of [['configMap', 'name', 'ConfigMap'], ['secret', 'secretName', 'Secret']] as const) {
      const source = isObject(volume) && isObject(volume[field]) ? volume[field] : undefined;
      if (!source) continue;
      const base = { kind, name: String(source[nameField]), optional: source.optional === true };
      const items = Array.isArray(source.items) ? source.items : [];
      if (items.length === 0) out.push({ ...base, path: `spec.volumes[${i}].${field}` });
      items.forEach((item, j) => out.push({ ...base, key: isObject(item) ? String(item.key) : undefined, path: `spec.volumes[${i}].${field}.items[${j}]` }));
    }
  });
  return out;
}

/** The keys a ConfigMap or Secret object of the file holds. */
export function keysOf(object: Json): string[] {
  const fields = object.kind === 'Secret' ? ['data', 'stringData'] : ['data', 'binaryData'];
  return fields.flatMap((f) => (isObject(object[f]) ? Object.keys(object[f] as Json) : []));
}
