/** What the HTTP layer needs, provided to NestJS as one value. */
import { ObjectStore } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';
import { UsageCache } from '../usage/usage.cache';

export const CLUSTER = Symbol('ClusterContext');

export interface ClusterContext {
  store: ObjectStore;
  metrics: ControlPlaneMetrics;
  /** The agents' recent usage samples (in memory only). */
  usage: UsageCache;
  isLeader(): boolean;
  /** A hint to the controllers that desired state changed (they re-read etcd anyway). */
  kick(): void;
}
