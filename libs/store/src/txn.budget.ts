/**
 * Transactions sized by bytes as well as by count. etcd refuses a request over
 * `--max-request-bytes` (1.5 MiB by default) and a transaction of more than `--max-txn-ops` (128)
 * operations: a batch of 100 replicas of a service carrying 16 kB of env is already over the first.
 * Every writer that batches packs its items with `packByBytes` against TXN_BUDGET_BYTES, well under
 * the limit (keys, compares and framing come on top of the values), and no single object may be
 * larger than MAX_OBJECT_BYTES (each would then fill a transaction alone).
 */

/** etcd's default `--max-request-bytes`; the supervised etcd runs with it. */
export const ETCD_MAX_REQUEST_BYTES = 1.5 * 2 ** 20;
/** What a batching writer puts in one transaction, values counted (two thirds of etcd's limit). */
export const TXN_BUDGET_BYTES = 2 ** 20;
/** Operations per transaction (etcd refuses more than 128 compares or 128 requests). */
export const TXN_MAX_OPS = 120;
/** The largest object stored: one that alone fills a transaction's budget. */
export const MAX_OBJECT_BYTES = TXN_BUDGET_BYTES;

/**
 * Room an applied object must leave under MAX_OBJECT_BYTES for what is added to it and to the
 * objects made from it later (a Service's status, its replicas' status and bookkeeping).
 */
export const OBJECT_HEADROOM_BYTES = 64 * 2 ** 10;

export interface PackLimits {
  /** Bytes per batch (default TXN_BUDGET_BYTES). */
  bytes?: number;
  /** Items per batch (default TXN_MAX_OPS). */
  items?: number;
}

/**
 * Splits `items` in order into batches of at most `limits.items` items whose sizes add up to at most
 * `limits.bytes`. An item larger than the byte budget goes alone (the caller's per-object check
 * refuses what etcd would). Pure: the packing is the same for the same sizes.
 */
export function packByBytes<T>(items: readonly T[], sizeOf: (item: T) => number, limits: PackLimits = {}): T[][] {
  const maxBytes = limits.bytes ?? TXN_BUDGET_BYTES;
  const maxItems = limits.items ?? TXN_MAX_OPS;
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxItems)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** "1.2 MiB", "200.0 KiB", "512 bytes": sizes in error messages. */
export function describeBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
