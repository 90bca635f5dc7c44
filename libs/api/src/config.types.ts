/**
 * Configuration objects (issue 19): ConfigMap, Secret and Namespace, in Kubernetes' shapes (`data`
 * at the top level, not under `spec`), and the references a Service's env and volumes make to them.
 * These shapes are a contract like types.ts.
 */
import type { ObjectMeta } from './object.meta';

export type ConfigKind = 'ConfigMap' | 'Secret' | 'Namespace';

/** Key → text, and key → base64 bytes; a key is in at most one of the two. Keys: letters, digits, `-`, `_`, `.`. */
export interface ConfigMap {
  apiVersion: 'tide/v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/**
 * `data`: key → base64 bytes. `stringData`: key → text, write-only as in Kubernetes: validation
 * merges it into `data` (a key in both takes the stringData value). `type` defaults to `Opaque`.
 */
export interface Secret {
  apiVersion: 'tide/v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** A namespace is cluster-scoped: its metadata has no namespace. */
export interface Namespace {
  apiVersion: 'tide/v1';
  kind: 'Namespace';
  metadata: Omit<ObjectMeta, 'namespace'>;
}

/** One key of a ConfigMap or Secret in the Service's namespace. `optional`: a missing one is no error. */
export interface KeySelector {
  name: string;
  key: string;
  optional?: boolean;
}

/** Exactly one of the two (Kubernetes' EnvVarSource, without fieldRef and resourceFieldRef). */
export interface EnvVarSource {
  configMapKeyRef?: KeySelector;
  secretKeyRef?: KeySelector;
}

/**
 * A value of `spec.env` (a map NAME → value): a string, or `{ valueFrom: ... }` read from a ConfigMap
 * or Secret when the replica starts (Kubernetes' `env[].valueFrom`, keyed by the variable's name).
 */
export type EnvValue = string | { valueFrom: EnvVarSource };

/** Every key of a ConfigMap or Secret as a variable, its name prefixed; exactly one of the two refs. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
