/** The metadata every stored object carries: a file of its own so that types.ts and config.types.ts both use it without importing each other. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  /** Increments whenever the spec changes (not on status updates). */
  generation?: number;
  /** etcd mod revision of the stored object, as a decimal string. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}
