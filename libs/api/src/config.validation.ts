/**
 * Validation of ConfigMap, Secret and Namespace documents (config.types.ts), every error with its
 * field path, and the object as stored (defaults filled, a Secret's stringData merged into data).
 */
import { ConfigMap, Namespace, Secret } from './config.types';
import type { Checker } from './field.checker';
import { describe } from './field.checker';
import { CONFIG_NAME, NAMESPACE_NAME, checkMetadata } from './metadata.validation';
import { checkConfigKey } from './names';
import { API_VERSION } from './types';

type Json = Record<string, unknown>;

/** Kubernetes' limit: the object must fit in one etcd value with room to spare. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The keys a Secret of a well-known type must hold (Kubernetes' rules). */
const REQUIRED_KEYS: Record<string, string[][]> = {
  'kubernetes.io/tls': [['tls.crt'], ['tls.key']],
  'kubernetes.io/basic-auth': [['username', 'password']],
  'kubernetes.io/ssh-auth': [['ssh-privatekey']],
  'kubernetes.io/dockerconfigjson': [['.dockerconfigjson']],
  'kubernetes.io/dockercfg': [['.dockercfg']],
};
const SECRET_TYPE = /^[A-Za-z0-9][-A-Za-z0-9_.]*(\/[-A-Za-z0-9_.]+)?$/;

export function checkConfigMap(c: Checker, doc: Json): ConfigMap | undefined {
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata', 'data', 'binaryData']);
  checkMetadata(c, doc.metadata, CONFIG_NAME);
  const text = doc.data === undefined ? {} : checkEntries(c, doc.data, 'data', false);
  const binary = doc.binaryData === undefined ? {} : checkEntries(c, doc.binaryData, 'binaryData', true);
  for (const key of Object.keys(binary)) {
    if (key in text) c.fail(`binaryData.${key}`, 'also in data: a key is in data or in binaryData, not both');
  }
  checkSize(c, sum(Object.values(text).map((t) => Buffer.byteLength(t, 'utf8'))) + sum(Object.values(binary)));
  if (c.errors.length > 0) return undefined;
  return {
    apiVersion: API_VERSION, kind: 'ConfigMap', metadata: storedMeta(doc.metadata as Json),
    ...(doc.data !== undefined ? { data: doc.data as Record<string, string> } : {}),
    ...(doc.binaryData !== undefined ? { binaryData: doc.binaryData as Record<string, string> } : {}),
  };
}

export function checkSecret(c: Checker, doc: Json): Secret | undefined {
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData']);
  checkMetadata(c, doc.metadata, CONFIG_NAME);
  const type = doc.type ?? 'Opaque';
  if (c.string(type, 'type') && (!SECRET_TYPE.test(type) || type.length > 253)) c.fail('type', `"${type}" is not a secret type (e.g. Opaque, kubernetes.io/tls)`);
  if (type === 'kubernetes.io/service-account-token') c.fail('type', 'Tide has no service accounts: a service-account token secret means nothing here');
  const bytes = doc.data === undefined ? {} : checkEntries(c, doc.data, 'data', true);
  const strings = doc.stringData === undefined ? {} : checkEntries(c, doc.stringData, 'stringData', false);
  const keys = new Set([...Object.keys(bytes), ...Object.keys(strings)]);
  for (const anyOf of REQUIRED_KEYS[type as string] ?? []) {
    if (!anyOf.some((key) => keys.has(key))) c.fail('data', `a ${String(type)} secret needs ${anyOf.map((k) => `"${k}"`).join(' or ')}`);
  }
  const merged: Record<string, string> = { ...(doc.data as Record<string, string> | undefined) };
  for (const [key, value] of Object.entries(strings)) merged[key] = Buffer.from(value, 'utf8').toString('base64');
  checkSize(c, sum(Object.values(merged).map(decodedLength)));
  if (c.errors.length > 0) return undefined;
  return {
    apiVersion: API_VERSION, kind: 'Secret', metadata: storedMeta(doc.metadata as Json), type: type as string,
    ...(keys.size > 0 ? { data: merged } : {}),
  };
}

export function checkNamespace(c: Checker, doc: Json): Namespace | undefined {
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata']);
  checkMetadata(c, doc.metadata, NAMESPACE_NAME);
  if (c.errors.length > 0) return undefined;
  const metadata = doc.metadata as Json;
  return {
    apiVersion: API_VERSION, kind: 'Namespace',
    metadata: { name: metadata.name as string, ...(metadata.labels ? { labels: metadata.labels as Record<string, string> } : {}) },
  };
}

/** Checks keys and values; answers the values as text (base64 ones: their decoded length). */
function checkEntries(c: Checker, value: unknown, path: string, base64: true): Record<string, number>;
function checkEntries(c: Checker, value: unknown, path: string, base64: false): Record<string, string>;
function checkEntries(c: Checker, value: unknown, path: string, base64: boolean): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (!c.isObject(value, path)) return out;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = `${path}.${key}`;
    checkConfigKey(c, key, itemPath);
    if (typeof item !== 'string') {
      c.fail(itemPath, `must be a string${base64 ? ' (base64)' : ''}, got ${describe(item)}${typeof item === 'number' || typeof item === 'boolean' ? ': quote it' : ''}`);
      continue;
    }
    if (base64 && !BASE64.test(item.replace(/\s+/g, ''))) {
      c.fail(itemPath, 'must be base64 (standard alphabet, padded); use stringData for plain text');
      continue;
    }
    out[key] = base64 ? decodedLength(item) : item;
  }
  return out;
}

function decodedLength(base64: string): number {
  const compact = base64.replace(/\s+/g, '');
  return (compact.length / 4) * 3 - (compact.match(/=+$/)?.[0].length ?? 0);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function checkSize(c: Checker, bytes: number): void {
  if (bytes > MAX_CONFIG_BYTES) c.fail('data', `holds ${bytes} bytes; at most ${MAX_CONFIG_BYTES} (1 MiB) in one object`);
}

function storedMeta(metadata: Json): ConfigMap['metadata'] {
  return {
    name: metadata.name as string,
    namespace: (metadata.namespace as string | undefined) ?? 'default',
    ...(metadata.labels ? { labels: metadata.labels as Record<string, string> } : {}),
  };
}
