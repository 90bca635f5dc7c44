/**
 * Reads while etcd is unavailable. Lists come from the watch-fed cache anyway, after a check that
 * it has caught up with etcd; single objects come from etcd. With etcd unreachable (or the cache not
 * catching up within a few seconds) both answer from the cache as it is, with
 * `X-Tide-Stale: <why>` and `Warning: 110 - "Response is Stale"` (RFC 7234): a caller sees the last
 * state this control plane knew instead of a hang or an error. An object the cache does not hold is
 * not known to be absent (it may have been written since the cache last heard from etcd): that read
 * fails as etcd's unavailability (503), never a 404.
 */
import type { Response } from 'express';
import { CachedKind, CachedObject, ClusterCache, StoreUnavailableError } from '@tide/store';
import type { ClusterContext } from './cluster.context';

export const STALE_HEADER = 'X-Tide-Stale';
/** How long a list waits for the cache to catch up with etcd before answering it as stale. */
const FRESH_WAIT_MS = 3000;

function markStale(res: Response, why: string): void {
  res.setHeader(STALE_HEADER, why.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200));
  res.setHeader('Warning', '110 - "Response is Stale"');
}

export async function freshOrStale(cluster: Pick<ClusterContext, 'cache' | 'etcdHealth'>, res: Response): Promise<ClusterCache> {
  try {
    cluster.etcdHealth?.assertReachable();
    if (!(await cluster.cache.fresh(FRESH_WAIT_MS))) markStale(res, `the cache did not catch up with etcd within ${FRESH_WAIT_MS} ms`);
  } catch (error) {
    markStale(res, (error as Error).message);
  }
  return cluster.cache;
}

export async function readThroughCache<K extends CachedKind>(
  cluster: Pick<ClusterContext, 'cache' | 'store'>, res: Response, kind: K, namespace: string, name: string,
): Promise<CachedObject<K> | undefined> {
  try {
    return (await cluster.store.get(kind, namespace, name)) as CachedObject<K> | undefined;
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    const cached = cluster.cache.get(kind, namespace, name);
    if (cached === undefined) throw error;
    markStale(res, error.message);
    return cached;
  }
}
