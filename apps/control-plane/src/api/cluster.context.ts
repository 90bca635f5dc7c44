/** What the HTTP layer needs, provided to NestJS as one value. */
import { ClusterCache, ConfigCache, ConfigStore, EtcdHealth, LeaseWindows, ObjectStore, TokenStore } from '@tide/store';
import { ApiAuth } from '../auth/api.auth';
import type { ClusterRegistry } from '../registry/cluster.registry';
import type { AgentCredentials } from './agent.client';
import { ControlPlaneMetrics } from '../metrics';
import { NodeEnrollment } from '../node-identity/node.enrollment';
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
  /** Bearer tokens (hashed) in etcd. */
  tokens: TokenStore;
  /** Authentication, authorization, Host check and audit of every request (auth/). */
  auth: ApiAuth;
  /** The cluster's registry (embedded or --registry), when it has one. */
  registry?: ClusterRegistry;
  /** The control plane's client certificate and the cluster CA, for calls to agents (renewed in place). */
  agentCredentials(): AgentCredentials;
  /** Node certificates: joins, the CA pin and gRPC port of join commands, revocation. */
  enrollment: NodeEnrollment;
  /** etcd's reachability, leader and alarms (/readyz); absent in route tests without etcd. */
  etcdHealth?: EtcdHealth;
  /** The leases Events live with (expire after --event-ttl-seconds). */
  eventLeases?: LeaseWindows;
  /** ConfigMaps and Secrets (Secrets sealed with the key file's ring); absent in route tests without them. */
  configs?: ConfigContext;
  /** The dashboard's built files (ui/ui.assets.ts); absent: $TIDE_UI_DIR or the workspace's apps/dashboard/bundle. */
  uiDir?: string;
  isLeader(): boolean;
  /** A hint to the controllers that desired state changed (they re-read etcd anyway). */
  kick(): void;
}

export interface ConfigContext {
  store: ConfigStore;
  cache: ConfigCache;
  /** status.configHash's HMAC key (from the key file). */
  digestKey(): Buffer;
  /** Reads the key file again (a rotation): answers the name of the key that now seals writes. */
  reloadKeys(): string;
}
