/** What the HTTP layer needs, provided to NestJS as one value. */
import { ClusterCache, ObjectStore } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';
import { UsageCache } from '../usage/usage.cache';

export const CLUSTER = Symbol('ClusterContext');

export interface ClusterContext {
  /** Writes, single objects, and what the cache does not hold (events, revisions). */
  store: ObjectStore;
  /** Lists: the control plane's watch-fed cache, never a whole kind read from etcd. */
  cache: ClusterCache;
  metrics: ControlPlaneMetrics;
  /** The agents' recent usage samples (in memory only). */
  usage: UsageCache;
  isLeader(): boolean;
  /** A hint to the controllers that desired state changed (they re-read etcd anyway). */
  kick(): void;
}
