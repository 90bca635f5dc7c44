/** `metadata` of every user object: name rules per kind, namespace, labels. */
import type { Checker } from './field.checker';
import { DNS_LABEL, DNS_SUBDOMAIN } from './names';

export interface NameRule {
  /** Service: DNS label (its name is part of replica names and hostnames); ConfigMap, Secret: DNS subdomain. */
  pattern: 'label' | 'subdomain';
  max: number;
  /** Namespace objects have none. */
  namespaced: boolean;
}

export const SERVICE_NAME: NameRule = { pattern: 'label', max: 50, namespaced: true };
export const CONFIG_NAME: NameRule = { pattern: 'subdomain', max: 253, namespaced: true };
export const NAMESPACE_NAME: NameRule = { pattern: 'label', max: 63, namespaced: false };

export function checkMetadata(c: Checker, metadata: unknown, rule: NameRule): void {
  if (!c.isObject(metadata, 'metadata')) return;
  c.onlyKnown(metadata, 'metadata', rule.namespaced ? ['name', 'namespace', 'labels', 'resourceVersion'] : ['name', 'labels', 'resourceVersion']);
  // The version the caller read (optimistic concurrency): the write happens only if it is still current.
  if (metadata.resourceVersion !== undefined && c.string(metadata.resourceVersion, 'metadata.resourceVersion') && !/^[1-9]\d*$/.test(metadata.resourceVersion)) {
    c.fail('metadata.resourceVersion', `"${metadata.resourceVersion}" must be the resourceVersion read from the API (a positive integer as a string), or left out`);
  }
  const pattern = rule.pattern === 'label' ? DNS_LABEL : DNS_SUBDOMAIN;
  const allowed = rule.pattern === 'label' ? "lower-case letters, digits and '-'" : "lower-case letters, digits, '-' and '.'";
  if (metadata.name === undefined) c.fail('metadata.name', 'required');
  else if (c.string(metadata.name, 'metadata.name') && (!pattern.test(metadata.name) || metadata.name.length > rule.max)) {
    c.fail('metadata.name', `"${metadata.name}" must be ${allowed}, at most ${rule.max} characters`);
  }
  if (metadata.namespace !== undefined && c.string(metadata.namespace, 'metadata.namespace') && !DNS_LABEL.test(metadata.namespace)) {
    c.fail('metadata.namespace', `"${metadata.namespace}" must be lower-case letters, digits and '-'`);
  }
  if (metadata.labels !== undefined) c.stringMap(metadata.labels, 'metadata.labels');
}
